"""The lint engine: every rule, run over one context, most severe first.

Each rule reads a :class:`~.context.LintContext` (the effective config's canonical view
plus what the node brings) and yields findings naming the exact TOML table and key.
Rules are judged on what containerd will *actually* use (the default runtime, the
merged config), not on what a file happens to mention. A new rule goes in the module
of its topic and into ``RULES`` here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..containerd import ContainerdView, SkippedPatch, apply_kind_patches, view
from ..containerd.config import CRI_V1, CRI_V2, CRI_V3_IMAGES, CRI_V3_RUNTIME
from ..containerd.config import view as view_of
from ..datafile import parse_toml, parse_yaml, read_text
from ..errors import InputError
from ..model import Finding
from ..variants import CGROUP_DRIVERS
from ..versions import parse_version
from .cgroups import cgroup_driver
from .context import LintContext
from .images import sandbox_image
from .paths import cni_dirs, grpc_address
from .registry import registry
from .runtimes import (
    cri_disabled,
    custom_runtime_binary,
    missing_runtime_type,
    missing_shim,
    option_typos,
    proxy_snapshotter,
    removed_shims,
    undefined_default_runtime,
)
from .types import TYPE_CODE, wrong_types
from .version import (
    config_version,
    missing_version,
    shell_variables,
    short_plugin_ids,
    skipped_patches,
)

if TYPE_CHECKING:
    from ..cells import Cell, KindRelease, Target

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}

Rule = Callable[[LintContext], Iterator[Finding]]
RULES: tuple[Rule, ...] = (
    wrong_types, cri_disabled, config_version, short_plugin_ids, missing_version, skipped_patches,
    undefined_default_runtime, cgroup_driver, missing_shim, removed_shims, missing_runtime_type,
    custom_runtime_binary, option_typos, sandbox_image, registry, grpc_address, cni_dirs,
    proxy_snapshotter, shell_variables)


def run_rules(ctx: LintContext) -> list[Finding]:
    """All findings, most severe first (rule order otherwise). A key of the wrong type is
    judged by its type alone: the rules that read it see it as unset, which it is not."""
    findings = [f for rule in RULES for f in rule(ctx)]
    mistyped = tuple(_dotted(f) for f in findings
                     if f.code == TYPE_CODE and f.severity == "error")
    findings = [f for f in findings if f.code == TYPE_CODE
                or not any(_dotted(f) == m or _dotted(f).startswith(m + ".") for m in mistyped)]
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))


def _dotted(f: Finding) -> str:
    return f"{f.table}.{f.key}" if f.table else f.key


def _containerd_tuple(version: str) -> tuple[int, int, int]:
    parsed = parse_version(version)
    if parsed is None:
        raise InputError(f"--containerd-version: {version!r} is not a version like 1.7.18")
    return parsed


def lint_view(view: ContainerdView, *, kubelet_cgroup_driver: str, containerd_version: str,
              shims: tuple[str, ...] | None, pinned_pause: str | None,
              skipped: tuple[SkippedPatch, ...] = (), source_text: str = "", path: str = "",
              standalone: bool) -> list[Finding]:
    """All findings for one effective config, most severe first (stable order otherwise)."""
    if kubelet_cgroup_driver not in CGROUP_DRIVERS:
        raise InputError(f"kubelet cgroup driver must be one of {', '.join(CGROUP_DRIVERS)}, "
                         f"not {kubelet_cgroup_driver!r}")
    ctrd = _containerd_tuple(containerd_version)
    ignored: tuple[str, ...] = ()
    plugins = view.data.get("plugins")
    if standalone and isinstance(plugins, dict):
        view, ignored = _as_read(view, plugins, ctrd)
    ctx = LintContext(view=view, kubelet_cgroup_driver=kubelet_cgroup_driver, containerd=ctrd,
                      shims=shims, pinned_pause=pinned_pause, skipped=skipped,
                      source_text=source_text, path=path, standalone=standalone,
                      ignored_tables=ignored)
    return run_rules(ctx)


def _as_read(view: ContainerdView, plugins: dict[str, Any], ctrd: tuple[int, int, int]
             ) -> tuple[ContainerdView, tuple[str, ...]]:
    """The file as containerd ``ctrd`` really reads it, and the tables it never reads; so
    rules judge what containerd will run (each case observed in the calibration table,
    docs/CALIBRATION.md)."""
    declared = view.declared_version
    if ctrd[0] < 2 and declared is None:
        # containerd 1.x reads a version-less file as version 1, keyed by short plugin id:
        # full-URI tables are never read (services/server/config/config.go).
        ignored = tuple(p for p in plugins if str(p).startswith("io.containerd."))
        if not ignored:
            return view, ()
        kept = {k: v for k, v in plugins.items() if k not in ignored}
        return _view_without(view, kept), ignored
    if ctrd[0] < 2 and declared == 3:
        # a 1.x that does not refuse version 3 reads it as version 2: the CRI v1 tables of
        # 2.x are unknown plugin ids there (containerd#9198).
        kept = {k: v for k, v in plugins.items() if k not in (CRI_V3_RUNTIME, CRI_V3_IMAGES)}
        return _relayout(view, {**view.data, "version": 2, "plugins": kept}), ()
    if ctrd[0] >= 2 and declared in (None, 1):
        # 2.x ignores a version-less file's CRI tables ("Ignoring unknown key in TOML for
        # plugin io.containerd.grpc.v1.cri", observed on 2.1.9); only its own ids are read.
        kept = {k: v for k, v in plugins.items() if k not in (CRI_V1, CRI_V2)}
        return _relayout(view, {**view.data, "version": 3, "plugins": kept}), tuple(
            p for p in plugins if p in (CRI_V1, CRI_V2))
    if ctrd[0] >= 2 and declared == 2 and CRI_V3_RUNTIME in plugins and CRI_V2 not in plugins:
        # 2.x reads its own CRI plugin ids under any version line: the v3 tables decide.
        return _relayout(view, {**view.data, "version": 3}), ()
    return view, ()


def _relayout(original: ContainerdView, data: dict[str, Any]) -> ContainerdView:
    """``data``'s layout, under the version line the file really has (version rules)."""
    read = view_of(data)
    return replace(read, declared_version=original.declared_version,
                   data={**read.data, "version": original.data.get("version")})


def _view_without(original: ContainerdView, plugins: dict[str, Any]) -> ContainerdView:
    data = {**original.data, "plugins": plugins}
    if CRI_V1 not in plugins:
        data["plugins"] = {**plugins, CRI_V1: {}}
    return view(data)


def lint_target(target: Target) -> tuple[Finding, ...]:
    """Lint what a target runs: kind's base config for its release plus the variant, or
    (as-is) the variant as the node's whole config, judged as the tiers run it."""
    kind = target.kind
    effective = target.effective
    base = view(parse_toml(kind.base_config_text(), path=kind.base_config))
    return tuple(lint_view(
        effective.view, kubelet_cgroup_driver=target.kubelet_cgroup_driver,
        containerd_version=kind.containerd, shims=kind.shims, pinned_pause=base.sandbox_image,
        skipped=effective.skipped, source_text=target.variant.text,
        path=str(target.variant.path), standalone=target.variant.as_is))


def lint_node(target: Target, containerd: str) -> tuple[Finding, ...]:
    """Lint what a node cell ran: the same effective config, judged for the containerd the
    node really runs (not kind's), so each cell carries its findings and fix."""
    kind = target.kind
    pinned = (None if target.variant.as_is else
              view(parse_toml(kind.base_config_text(), path=kind.base_config)).sandbox_image)
    return tuple(lint_view(
        target.effective.view, kubelet_cgroup_driver=target.kubelet_cgroup_driver,
        containerd_version=containerd or kind.containerd, shims=None, pinned_pause=pinned,
        skipped=target.effective.skipped, source_text=target.variant.text,
        path=str(target.variant.path), standalone=target.variant.as_is))


def lint_cell(cell: Cell) -> tuple[Finding, ...]:
    return lint_target(cell.target)


def lint_file(path: Path, *, kubelet_cgroup_driver: str = "systemd",
              containerd_version: str | None = None, on_kind: KindRelease | None = None,
              pinned_pause: str | None = None) -> list[Finding]:
    """Lint a TOML file: the node's whole config, or (``on_kind``) a kind patch.

    Standalone, ``containerd_version`` is required (no version lives in code); with
    ``on_kind`` the release's containerd version and shims are used, the file is merged
    over its base config exactly as kind would, and the base's sandbox image is the
    pinned pause image; standalone, ``pinned_pause`` is compared only when given.
    """
    text = read_text(path)
    if on_kind is None:
        if containerd_version is None:
            raise InputError("--containerd-version: needed to lint a whole config.toml",
                             path=path)
        data = parse_toml(text, path=path)
        return lint_view(view(data), kubelet_cgroup_driver=kubelet_cgroup_driver,
                         containerd_version=containerd_version, shims=None,
                         pinned_pause=pinned_pause,
                         source_text=text, path=str(path), standalone=True)
    return _lint_patches(on_kind, [text], [], kubelet_cgroup_driver, str(path), text)


def _lint_patches(kind: KindRelease, patches: list[str], patches6902: list[str],
                  kubelet_cgroup_driver: str, path: str, text: str) -> list[Finding]:
    base_text = kind.base_config_text()
    effective = apply_kind_patches(base_text, patches, patches6902,
                                   base_source=str(kind.base_config),
                                   patch_sources=[path] * len(patches))
    base = view(parse_toml(base_text, path=kind.base_config))
    return lint_view(effective.view, kubelet_cgroup_driver=kubelet_cgroup_driver,
                     containerd_version=kind.containerd, shims=kind.shims,
                     pinned_pause=base.sandbox_image, skipped=effective.skipped,
                     source_text=text, path=path, standalone=False)


def lint_cluster_config(path: Path, *, kind: KindRelease,
                        kubelet_cgroup_driver: str = "systemd") -> list[Finding]:
    """Lint the ``containerdConfigPatches`` of a kind Cluster config (YAML) over ``kind``."""
    text = read_text(path)
    doc = parse_yaml(text, path=path)
    if not isinstance(doc, dict) or doc.get("kind") != "Cluster":
        raise InputError("not a kind Cluster config (kind: Cluster)", path=path)
    patches = doc.get("containerdConfigPatches") or []
    ops = doc.get("containerdConfigPatchesJSON6902") or []
    if not isinstance(patches, list) or not all(isinstance(p, str) for p in patches):
        raise InputError("containerdConfigPatches must be a list of strings", path=path)
    if not isinstance(ops, list) or not all(isinstance(p, str) for p in ops):
        raise InputError("containerdConfigPatchesJSON6902 must be a list of strings", path=path)
    if not patches and not ops:
        return []
    return _lint_patches(kind, patches, ops, kubelet_cgroup_driver, str(path), text)
