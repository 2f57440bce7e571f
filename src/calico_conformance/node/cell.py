"""One node cell: a variant inside a kind-style node, judged by an emulated kubelet.

Steps (the life around them is :func:`~..life.live`'s): boot the node (systemd as
PID 1) through its backend, write the variant's effective config, restart containerd
through systemd (``config``, with the journal's words, if it will not run), wait for CRI
(``cri``), import the local images, create the calico-node-like pod through the
emulated kubelet (``sandbox`` / ``container``), then watch a window of kubelet syncs,
exec probes, pod churn, a ``daemon-reload`` and a containerd restart (:mod:`.window`).
Nothing here knows the backend: in-node work goes through :mod:`.nodeutils`.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from ..cells import NodeCell
from ..clock import Clock
from ..containerd.config import table_name, view
from ..containerd.words import cri_load_error, exit_error
from ..cri.client import CriClient
from ..cri.waits import wait_images, wait_ready
from ..errors import ConformanceError, StepFailed
from ..life import Judged, StepLife, live
from ..model import CellResult, ConfigCheck
from ..settings import NodeSettings
from ..versions import parse_version
from . import nodeutils as nu
from .backend import Backend, Node
from .cgroups import NodeCgroups
from .kubelet import PodWorker
from .prober import ProbeSpec
from .window import watch
from .workload import SANDBOX_REF, WORKLOAD_REF

CRI_READY_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class PodTemplate:
    """calico-node's pod as its manifest defines it: exec probes and the grace period."""

    probes: tuple[ProbeSpec, ...] = ()
    grace_s: int = 0  # terminationGracePeriodSeconds (calico: 0)
    source: str = ""  # which manifest they came from


def run_cell(cell: NodeCell, backend: Backend, tag: str, settings: NodeSettings, *,
                  run_id: str, clock: Clock, pod: PodTemplate = PodTemplate(),
                  repeat: int = 1, keep_logs_dir: Path | None = None,
                  record: Path | None = None) -> CellResult:
    """One node cell on ``backend``'s node of image ``tag``."""
    node = backend.node(tag, run_id, clock)
    return live(NodeLife(cell, node, settings, pod, repeat, keep_logs_dir, record), clock)


def adapt(config: dict[str, Any], rec_overrides: list[str], node: Node) -> dict[str, Any]:
    """What this node needs changed, recorded: sandboxes ask for oom_score_adj -998, which
    needs CAP_SYS_RESOURCE (kind sets restrict_oom_score_adj itself when rootless)."""
    if nu.can_lower_oom_score(node):
        return config
    cfg = view(json.loads(json.dumps(config)))
    key = (*cfg.layout.runtime_plugin, "restrict_oom_score_adj")
    if cfg.get(key) is not True:
        cfg.set(key, True)
        rec_overrides.append(f"[{table_name(*cfg.layout.runtime_plugin)}] "
                             "restrict_oom_score_adj -> true (this node lacks "
                             "CAP_SYS_RESOURCE; sandboxes could not lower oom_score_adj)")
    return cfg.data


class NodeLife(StepLife):
    where = "node host"

    def __init__(self, cell: NodeCell, node: Node, settings: NodeSettings, pod: PodTemplate,
                 repeat: int, keep_logs_dir: Path | None, record: Path | None) -> None:
        super().__init__(cell.target, repeat)
        self.cell, self.node, self.settings, self.pod = cell, node, settings, pod
        self.keep_logs_dir, self.record = keep_logs_dir, record
        self.driver = cell.target.kubelet_cgroup_driver
        self.placement: dict[str, str] = {}

    def declared(self) -> NodeCell:
        containerd = parse_version(self.node.facts.get("containerd", ""))
        return NodeCell(self.cell.target, self.cell.recipe,
                        node_image=self.node.facts.get("node_image", ""),
                        containerd=".".join(map(str, containerd)) if containerd else "",
                        backend=self.cell.backend,
                        cgroup=self.node.facts.get("cgroup", self.cell.cgroup))

    def config_check(self) -> ConfigCheck:
        facts = self.node.facts
        return ConfigCheck(containerd_version=facts.get("containerd", ""),
                           kubelet_cgroup_driver=self.driver, skipped_patches=self.skipped,
                           overrides=tuple(self.rec.overrides),
                           host={**facts, **{f"seconds_{k}": f"{v:.1f}"
                                             for k, v in self.rec.timings.items()},
                                 **self.placement})

    def release(self, judged: Judged, interrupted: bool) -> list[str]:
        node = self.node
        if self.keep_logs_dir is not None and node.name:
            with contextlib.suppress(OSError, ConformanceError):
                self.keep_logs_dir.mkdir(parents=True, exist_ok=True)
                (self.keep_logs_dir / "containerd.journal").write_text(nu.journal(node))
        return [f"tear-down: {p}" for p in node.teardown()]

    def observe(self) -> None:
        node, rec, clock = self.node, self.rec, self.node.clock
        t0 = clock.monotonic()
        node.start(self.record)
        nu.read_facts(node, self.cell.recipe, nu.wait_booted(node))
        rec.timings["boot"] = clock.monotonic() - t0
        t1 = clock.monotonic()
        config = self.config
        text = (tomli_w.dumps(adapt(config, rec.overrides, node)) if isinstance(config, dict)
                else config)
        nu.write_file(node, nu.CONFIG, text)
        active, journal = nu.restart_containerd(node)
        if not active:
            rec.timings["config"] = clock.monotonic() - t1
            raise StepFailed("config", exit_error(journal))
        cri = CriClient(node.cri_endpoint)
        try:
            ready = wait_ready(cri, clock, CRI_READY_TIMEOUT_S)
            if not ready.ready:
                raise StepFailed("cri", cri_load_error(nu.journal(node)) or ready.last
                                 or "CRI did not become ready")
            sandbox_image = _sandbox_image(cri) or _configured_sandbox_image(config)
            nu.import_images(node, sandbox_image)
            wait_images(cri, clock, (sandbox_image or SANDBOX_REF, WORKLOAD_REF))
            rec.notes.append(f"sandbox image {sandbox_image or '(default)'} is the local "
                             "busybox")
            rec.timings["config"] = clock.monotonic() - t1
            self._pod(cri)
        finally:
            cri.close()

    def _pod(self, cri: CriClient) -> None:
        rec, clock = self.rec, self.node.clock
        t2 = clock.monotonic()
        cgroups = NodeCgroups(self.node, self.driver)
        worker = PodWorker(cri, cgroups, clock, self.pod.grace_s)
        worker.create()
        try:
            watch(self.node, cri, cgroups, worker, self.settings, self.pod.probes, rec,
                  self.placement, self.settings.window_for(self.cell.backend))
        finally:
            with contextlib.suppress(ConformanceError):
                rec.notes += worker.cleanup()
            rec.notes += cgroups.notes
            rec.timings["probe"] = clock.monotonic() - t2


def _configured_sandbox_image(config: dict[str, Any] | str) -> str:
    """The config's own sandbox image (containerd 2.x's CRI status does not report it):
    version 2 ``sandbox_image``, version 3 ``pinned_images.sandbox``."""
    if not isinstance(config, dict):
        return ""
    return view(config).sandbox_image or ""


def _sandbox_image(cri: CriClient) -> str:
    """The sandbox image containerd will use, from CRI's verbose status (1.x: config.
    sandboxImage; 2.x: config.pinnedImages.sandbox)."""
    cfg = cri.runtime_info().get("config", {})
    if not isinstance(cfg, dict):
        return ""
    pinned = cfg.get("pinnedImages") or {}
    found = cfg.get("sandboxImage") or (pinned.get("sandbox") if isinstance(pinned, dict)
                                        else "")
    return str(found or "")
