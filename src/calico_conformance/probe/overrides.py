"""Adapt a kind node's effective containerd config to the probe host, recording each change.

Two kinds of change are made to a *copy* of the effective config:

* isolation (always): addresses, the ``opt`` path, CNI directories and runc's state
  root move into the probe's throw-away directory, so a probe never touches
  ``/run/containerd``, ``/etc/cni`` or ``/opt``;
* host overrides (only when the host needs them): settings that describe a kind node
  rather than the config under test, e.g. kind's ``base_runtime_spec`` file, its
  fuse-overlayfs proxy socket, the registry-only sandbox image, OOM score limits.

Every change is returned as a one-line string (``ConfigCheck.overrides``), so a report
never presents a rewritten config as the variant's own.

systemd cgroups, the design decision: on a host whose PID 1 is not systemd,
runc cannot create systemd cgroups. When the default runtime and the kubelet *agree*
on systemd, the pair is emulated as cgroupfs on both sides (``SystemdCgroup = true`` is
rewritten to ``false`` and the sandbox's ``cgroup_parent`` takes the cgroupfs form),
because what is under test is their agreement, which the cgroupfs pair preserves. A
*mismatched* pair is left alone: runc rejects a cgroupfs parent for a systemd runtime
while converting the spec, before it ever talks to systemd, so that failure is the
config's own (containerd/containerd#4857). A systemd runtime without the rewrite
(``emulate_systemd=False``) fails on such a host for the host's reason; the judge
reports that as ``unknown`` (see :mod:`.judge`).
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from ..containerd.config import CRI_PLUGINS, table_name, view
from ..datafile import parse_toml
from .host import HostFacts
from .hostpaths import isolate

RUNC_V2 = "io.containerd.runc.v2"
# kind's node images install runc here (kind images/base/Dockerfile); Debian's is /usr/sbin.
KIND_RUNC = "/usr/local/sbin/runc"


@dataclass(frozen=True)
class IsolationPaths:
    """Where the probe's containerd keeps everything (all under one throw-away dir)."""

    grpc: Path
    ttrpc: Path
    opt: Path
    cni_conf: Path
    cni_bin: Path
    runc_root: Path
    base_spec: Path
    tree: Path | None = None  # the whole throw-away tree: imports, root, state, ...


@dataclass(frozen=True)
class Adapted:
    data: dict[str, Any]
    overrides: tuple[str, ...]
    kubelet_driver: str  # the cgroup driver the probe emulates for the kubelet
    systemd_requested: bool  # the sandbox's runtime still asks runc for systemd cgroups
    needs_base_spec: bool  # some runtime now points at IsolationPaths.base_spec
    files: tuple[tuple[Path, str], ...] = ()  # isolated imports to write into the tree


def adapt(data: dict[str, Any], facts: HostFacts, paths: IsolationPaths, *, image_ref: str,
          kubelet_driver: str, overlay_usable: bool, emulate_systemd: bool = True,
          exists: Callable[[str], bool] = os.path.exists,
          variant_dir: Path | None = None, allowed: tuple[str, ...] = ()) -> Adapted:
    """The config the probe really runs, and what was changed to get there."""
    cfg = view(copy.deepcopy(data))  # every read and write goes through the layout
    out, lay = cfg.data, cfg.layout
    notes: list[str] = []
    cri_t = cfg.table(lay.runtime_plugin)
    ctrd_t = cfg.table(lay.containerd)
    cri_name = table_name(*lay.runtime_plugin)

    cfg.set(("grpc", "address"), str(paths.grpc))
    cfg.set(("ttrpc", "address"), str(paths.ttrpc))
    cfg.set(("plugins", "io.containerd.internal.v1.opt", "path"), str(paths.opt))
    cfg.set((*lay.cni, "conf_dir"), str(paths.cni_conf))
    cfg.set((*lay.cni, "bin_dir"), str(paths.cni_bin))
    notes.append("isolation: grpc/ttrpc address, opt path, CNI conf/bin dirs and runc state "
                 "root moved into the probe's temp dir")
    files: tuple[tuple[Path, str], ...] = ()
    if paths.tree is not None:
        iso = isolate(out, paths.tree, variant_dir, allowed)
        notes += iso.notes
        files = tuple(iso.files)

    old_image = cfg.set(lay.sandbox_image, image_ref)
    notes.append(f"[{table_name(*lay.sandbox_image[:-1])}] {lay.sandbox_image[-1]}: "
                 f"{old_image or '(containerd default)'} -> "
                 f"{image_ref} (no registry: local busybox image stands in for pause)")

    if not facts.can_lower_oom_score and cri_t.get("restrict_oom_score_adj") is not True:
        was = str(cri_t.get("restrict_oom_score_adj", "unset")).lower()
        cri_t["restrict_oom_score_adj"] = True
        notes.append(f"[{cri_name}] restrict_oom_score_adj: {was} -> true "
                     "(this host may not lower OOM scores; sandboxes ask for -998)")

    proxies = out.get("proxy_plugins")
    if isinstance(proxies, dict):
        for name in sorted(proxies):
            addr = proxies[name].get("address") if isinstance(proxies[name], dict) else None
            if isinstance(addr, str) and not exists(addr):
                del proxies[name]
                notes.append(f"[proxy_plugins.{name}] removed: its socket {addr} does not "
                             "exist on this host")

    if not overlay_usable and (cfg.get(lay.snapshotter) or "overlayfs") == "overlayfs":
        cfg.set(lay.snapshotter, "native")
        notes.append(f"[{table_name(*lay.snapshotter[:-1])}] snapshotter: overlayfs -> native "
                     "(overlayfs is not usable under the probe's root here)")

    needs_base_spec = False
    runtimes = ctrd_t.get("runtimes")
    runtimes = runtimes if isinstance(runtimes, dict) else {}
    default_name = ctrd_t.get("default_runtime_name") or "runc"
    for name in sorted(runtimes):
        rt = runtimes[name]
        if not isinstance(rt, dict):
            continue
        rt_name = f"[{table_name(*lay.runtime(name))}]"
        spec = rt.get("base_runtime_spec")
        if isinstance(spec, str) and spec:  # never a host file, present or not
            rt["base_runtime_spec"] = str(paths.base_spec)
            needs_base_spec = True
            why = "a host file is never read" if exists(spec) else \
                "the kind node's file does not exist here"
            notes.append(f"{rt_name} base_runtime_spec: {spec} -> a `ctr oci spec` default "
                         f"({why})")
        if rt.get("runtime_type") != RUNC_V2:
            continue
        opts = rt.get("options")
        opts = opts if isinstance(opts, dict) else {}
        rt["options"] = opts
        opts.setdefault("Root", str(paths.runc_root))
        binary = opts.get("BinaryName")
        if (isinstance(binary, str) and not exists(binary) and binary == KIND_RUNC
                and facts.runc_bin):
            opts["BinaryName"] = facts.runc_bin
            notes.append(f"{rt_name}.options BinaryName: {binary} -> {facts.runc_bin} "
                         "(where kind's node image has runc; this host has it elsewhere)")

    default_rt = runtimes.get(default_name) if isinstance(runtimes.get(default_name), dict) else {}
    default_opts = default_rt.get("options") if isinstance(default_rt, dict) else None
    systemd_requested = isinstance(default_opts, dict) and default_opts.get("SystemdCgroup") is True
    driver = kubelet_driver
    if (emulate_systemd and not facts.systemd_pid1 and kubelet_driver == "systemd"
            and systemd_requested):
        for name in sorted(runtimes):
            opts = runtimes[name].get("options") if isinstance(runtimes[name], dict) else None
            if isinstance(opts, dict) and opts.get("SystemdCgroup") is True:
                opts["SystemdCgroup"] = False
                notes.append(f"[{table_name(*lay.runtime(name), 'options')}] SystemdCgroup: "
                             f"true -> false (systemd is not PID 1 here: the agreeing "
                             "systemd/systemd pair is emulated as cgroupfs/cgroupfs)")
        driver, systemd_requested = "cgroupfs", False
    files, notes, needs_base_spec = _adapt_imports(
        files, notes, needs_base_spec, lambda doc: adapt(
            doc, facts, dataclasses.replace(paths, tree=None), image_ref=image_ref,
            kubelet_driver=kubelet_driver, overlay_usable=overlay_usable,
            emulate_systemd=emulate_systemd, exists=exists))
    return Adapted(data=out, overrides=tuple(notes), kubelet_driver=driver,
                   systemd_requested=systemd_requested, needs_base_spec=needs_base_spec,
                   files=files)


def _adapt_imports(files: tuple[tuple[Path, str], ...], notes: list[str], base_spec: bool,
                   adapt_one: Callable[[dict[str, Any]], Adapted]
                   ) -> tuple[tuple[tuple[Path, str], ...], list[str], bool]:
    """An import that holds a CRI plugin table replaces the main config's whole table
    (containerd merges imports plugin by plugin; observed on 1.6.20): the host isolation
    and overrides must be in the import too, or its CNI dirs and runc root are the host's."""
    out = []
    for dst, text in files:
        doc = parse_toml(text, path=dst)
        plugins = doc.get("plugins")
        if isinstance(plugins, dict) and any(p in plugins for p in CRI_PLUGINS):
            sub = adapt_one(doc)
            notes = [*notes, *(f"imports: {dst.name}: {o}" for o in sub.overrides)]
            text, base_spec = tomli_w.dumps(sub.data), base_spec or sub.needs_base_spec
        out.append((dst, text))
    return tuple(out), notes, base_spec
