"""One node cell: a variant inside a kind-style node, judged by an emulated kubelet.

Life of a cell: boot the node (systemd as PID 1), write the variant's effective config,
restart containerd through systemd (``config-rejected`` with the journal's words if it
will not run), wait for CRI (``cri-unavailable``), import the local images, create the
calico-node-like pod through the emulated kubelet (``sandbox-fails`` /
``container-fails``), then watch a window of kubelet syncs, exec probes, pod churn, a
``daemon-reload`` and a containerd restart (see :mod:`.window`). Tear-down is total.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from ..cells import NodeCell
from ..clock import Clock, SystemClock
from ..containerd.config import table_name, view
from ..errors import ConformanceError, InputError, ProbeError
from ..model import CellResult, ConfigCheck, Evidence, Verdict
from ..probe.diagnose import cri_load_error, exit_error
from ..probe.host import can_lower_oom_score
from ..results import build_result
from ..signals import confirm, shielded
from ..versions import parse_version
from .cgroups import NodeCgroups
from .docker import find_docker
from .judge import NodeObservation
from .kubelet import ContainerFailed, PodWorker, SandboxFailed
from .lifecycle import Node
from .pods import Pods
from .prober import ProbeSpec
from .window import watch
from .workload import SANDBOX_REF, WORKLOAD_REF

CRI_READY_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class NodeImage:
    recipe: str  # recipe name, e.g. "trixie"
    tag: str  # the docker image


@dataclass(frozen=True)
class NodeSettings:
    run_id: str
    window_s: float = 30.0
    sync_s: float = 10.0  # kubelet resyncs at syncFrequency (1m) + on events; compressed
    probes: tuple[ProbeSpec, ...] = ()
    grace_s: int = 0  # the pod's terminationGracePeriodSeconds (calico: 0)
    probe_source: str = ""  # which manifest the probes came from
    churn: bool = True
    disturb: bool = True  # daemon-reload and a containerd restart during the window
    docker_bin: str | None = None
    clock: Clock = field(default_factory=SystemClock)
    keep_logs_dir: Path | None = None
    record: Path | None = None  # the run's started.jsonl (runrecord.py), if any


def node_available(docker_bin: str | None = None) -> str | None:
    """None when node cells can run here, else why (for a pytest skip)."""
    if os.geteuid() != 0:
        return "the node tier needs root (docker, the node's cgroups)"
    try:
        find_docker(docker_bin).server_version()
    except ConformanceError as exc:
        return f"{exc} (the node tier needs a running dockerd; see .ci/run)"
    return None


def run_node_cell(cell: NodeCell, image: NodeImage, settings: NodeSettings,
                  repeat: int = 1) -> CellResult:
    clock = settings.clock
    started = clock.now().isoformat()
    variant = cell.variant
    driver = cell.target.kubelet_cgroup_driver
    obs = NodeObservation()
    skipped: tuple[str, ...] = ()
    facts: dict[str, str] = {}
    not_tested = ""
    try:
        eff = cell.target.effective
        config: dict[str, Any] | str = eff.data
        skipped = tuple(s.describe() for s in eff.skipped)
        not_tested = cell.target.skipped_by_kind()
    except InputError as exc:
        config = variant.text
        obs.notes.append(f"no effective config ({exc.one_line()}); the node got the variant "
                         "text as written")
    docker = find_docker(settings.docker_bin)
    node = Node(docker, image.tag, settings.run_id, clock)
    try:
        _observe(node, image, config, driver, settings, obs)
    except ConformanceError as exc:
        obs.verdict, obs.error = Verdict.UNKNOWN, f"node host trouble: {exc}"
    except KeyboardInterrupt:
        confirm()  # on its way out: a second Ctrl-C or SIGTERM waits for the tear-down
        raise
    finally:
        with shielded():
            if settings.keep_logs_dir is not None and node.name:
                with contextlib.suppress(OSError, ConformanceError):
                    settings.keep_logs_dir.mkdir(parents=True, exist_ok=True)
                    (settings.keep_logs_dir / "containerd.journal").write_text(node.journal())
            obs.notes += [f"tear-down: {p}" for p in node.teardown()]
        facts = dict(node.facts)
    containerd = parse_version(facts.get("containerd", ""))
    cell = NodeCell(cell.target, cell.recipe, node_image=image.tag,
                    containerd=".".join(map(str, containerd)) if containerd else "")
    return build_result(
        cell, obs.verdict, subtype=obs.subtype, repeat=repeat, not_tested=not_tested,
        evidence=Evidence(error=obs.error, notes=tuple(obs.notes), watched_s=obs.watched_s,
                          restarts=len(obs.kills),
                          exit_codes=tuple(k.exit_code for k in obs.kills),
                          reasons=tuple(k.reason for k in obs.kills)),
        config_check=ConfigCheck(containerd_version=facts.get("containerd", ""),
                                 kubelet_cgroup_driver=driver, skipped_patches=skipped,
                                 overrides=tuple(obs.overrides),
                                 host={**facts, **{f"seconds_{k}": f"{v:.1f}"
                                                   for k, v in obs.timings.items()},
                                       **obs.placement}),
        started_at=started, finished_at=clock.now().isoformat())


def adapt(config: dict[str, Any], obs: NodeObservation) -> dict[str, Any]:
    """What this host needs changed, recorded: sandboxes ask for oom_score_adj -998, which
    needs CAP_SYS_RESOURCE (kind sets restrict_oom_score_adj itself when rootless)."""
    if can_lower_oom_score():
        return config
    cfg = view(json.loads(json.dumps(config)))
    key = (*cfg.layout.runtime_plugin, "restrict_oom_score_adj")
    if cfg.get(key) is not True:
        cfg.set(key, True)
        obs.overrides.append(f"[{table_name(*cfg.layout.runtime_plugin)}] "
                             "restrict_oom_score_adj -> true (this host lacks CAP_SYS_RESOURCE; "
                             "sandboxes could not lower oom_score_adj)")
    return cfg.data


def _observe(node: Node, image: NodeImage, config: dict[str, Any] | str, driver: str,
             settings: NodeSettings, obs: NodeObservation) -> dict[str, str]:
    clock = settings.clock
    t0 = clock.monotonic()
    node.start(settings.record)
    state = node.wait_booted()
    facts = node.read_facts(image.recipe, state)
    obs.timings["boot"] = clock.monotonic() - t0
    t1 = clock.monotonic()
    text = tomli_w.dumps(adapt(config, obs)) if isinstance(config, dict) else config
    node.write_config(text)
    active, journal = node.restart_containerd()
    if not active:
        obs.verdict, obs.error = Verdict.CONFIG_REJECTED, exit_error(journal)
        obs.timings["config"] = clock.monotonic() - t1
        return facts
    client = node.client()
    try:
        pods = Pods(client)
        if not _cri_ready(client, clock, obs, node):
            return facts
        sandbox_image = _sandbox_image(pods) or _configured_sandbox_image(config)
        node.import_images(sandbox_image)
        _wait_images(client, clock, (sandbox_image or SANDBOX_REF, WORKLOAD_REF))
        obs.notes.append(f"sandbox image {sandbox_image or '(default)'} is the local busybox")
        obs.timings["config"] = clock.monotonic() - t1
        t2 = clock.monotonic()
        cgroups = NodeCgroups(node, driver)
        worker = PodWorker(pods, cgroups, clock, settings.grace_s)
        try:
            worker.create()
        except SandboxFailed as exc:
            obs.verdict, obs.error = Verdict.SANDBOX_FAILS, str(exc)
            return facts
        except ContainerFailed as exc:
            obs.verdict, obs.error = Verdict.CONTAINER_FAILS, str(exc)
            return facts
        try:
            watch(node, pods, cgroups, worker, settings, obs)
        finally:
            with contextlib.suppress(ConformanceError):
                obs.notes += worker.cleanup()
            obs.notes += cgroups.notes
            obs.timings["probe"] = clock.monotonic() - t2
    finally:
        client.close()
    return facts


def _cri_ready(client: Any, clock: Clock, obs: NodeObservation, node: Node) -> bool:
    from ..errors import CriCallError

    deadline = clock.monotonic() + CRI_READY_TIMEOUT_S
    last = ""
    while clock.monotonic() < deadline:
        try:
            status = client.status()
        except CriCallError as exc:
            last = str(exc)
            if exc.code == "UNIMPLEMENTED":
                break
        else:
            if status.runtime_ready:
                return True
            last = f"RuntimeReady false: {status.reason}"
        clock.sleep(0.5)
    obs.verdict = Verdict.CRI_UNAVAILABLE
    obs.error = cri_load_error(node.journal()) or last or "CRI did not become ready"
    return False


def _wait_images(client: Any, clock: Clock, refs: tuple[str, ...]) -> None:
    """CRI learns of ctr's import and tag from events, asynchronously: wait until it sees
    every reference (as the kubelet's image manager would find them present)."""
    from ..errors import CriCallError

    deadline = clock.monotonic() + 20.0
    missing = list(refs)
    while missing and clock.monotonic() < deadline:
        with contextlib.suppress(CriCallError):
            missing = [r for r in missing if not client.image_present(r)]
        if missing:
            clock.sleep(0.3)
    if missing:
        raise ProbeError(f"CRI does not see the imported image(s) {', '.join(missing)}")


def _configured_sandbox_image(config: dict[str, Any] | str) -> str:
    """The config's own sandbox image (containerd 2.x's CRI status does not report it):
    version 2 ``sandbox_image``, version 3 ``pinned_images.sandbox``."""
    if not isinstance(config, dict):
        return ""
    return view(config).sandbox_image or ""


def _sandbox_image(pods: Pods) -> str:
    """The sandbox image containerd will use, from CRI's verbose status (1.x: config.
    sandboxImage; 2.x: config.pinnedImages.sandbox)."""
    cfg = pods.runtime_info().get("config", {})
    if not isinstance(cfg, dict):
        return ""
    pinned = cfg.get("pinnedImages") or {}
    found = cfg.get("sandboxImage") or (pinned.get("sandbox") if isinstance(pinned, dict)
                                        else "")
    return str(found or "")


__all__ = ["NodeImage", "NodeSettings", "node_available", "run_node_cell"]
