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
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from ..cells import NodeCell
from ..clock import Clock
from ..containerd.config import get_at, runtime_plugin_read, set_at, table_name
from ..containerd.imports import staged_imports
from ..containerd.words import cri_load_error, exit_error, host_capability_trouble
from ..cri.client import CriClient
from ..cri.waits import wait_images, wait_ready
from ..datafile import parse_toml
from ..errors import ConformanceError, NodeUnavailable, StepFailed
from ..life import Judged, StepLife, live
from ..model import CellResult, ConfigCheck
from ..redact import redact_text
from ..settings import NodeSettings
from ..versions import parse_version
from . import nodeutils as nu
from .backend import Backend, Node
from .cgroups import NodeCgroups
from .kubelet import PodWorker
from .parity import SANDBOX_LINE, Parity, node_default_sandbox, prepare, sandbox_refs
from .pool import Lease, NodePool
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
             parity: Parity, run_id: str, clock: Clock, pod: PodTemplate = PodTemplate(),
             repeat: int = 1, keep_logs_dir: Path | None = None,
             record: Path | None = None, pool: NodePool | None = None) -> CellResult:
    """One node cell on ``backend``'s node of image ``tag`` (from ``pool``, when the
    backend's nodes are reused between cells, else a node of its own), made to match a
    kind node as ``parity`` says (the catalog's ``node-parity.toml``)."""
    kept = pool if pool is not None and backend.reusable else None
    lease = (kept.take(backend, tag, run_id, clock) if kept is not None
             else Lease(backend.node(tag, run_id, clock), (backend.name, tag)))
    return live(NodeLife(cell, lease, kept, parity, settings, pod, repeat, keep_logs_dir,
                         record), clock)


def adapt(config: dict[str, Any], rec_overrides: list[str], node: Node) -> dict[str, Any]:
    """What this node needs changed, recorded: sandboxes ask for oom_score_adj -998, which
    needs CAP_SYS_RESOURCE (kind sets restrict_oom_score_adj itself when rootless). It goes
    into the table this node's containerd really reads, whatever the file's layout says
    (a version-less file on containerd 1.x is read by short plugin id)."""
    if nu.can_lower_oom_score(node):
        return config
    data: dict[str, Any] = json.loads(json.dumps(config))
    found = parse_version(node.facts.get("containerd", "")) or (0, 0, 0)
    table = runtime_plugin_read(data.get("version"), found)
    key = (*table, "restrict_oom_score_adj")
    if get_at(data, key) is not True:
        set_at(data, key, True)
        rec_overrides.append(f"[{table_name(*table)}] restrict_oom_score_adj -> true (this "
                             "node lacks CAP_SYS_RESOURCE; sandboxes could not lower "
                             "oom_score_adj)")
    return data


class NodeLife(StepLife):
    where = "node host"

    def __init__(self, cell: NodeCell, lease: Lease, pool: NodePool | None, parity: Parity,
                 settings: NodeSettings, pod: PodTemplate, repeat: int,
                 keep_logs_dir: Path | None, record: Path | None) -> None:
        super().__init__(cell.target, repeat)
        self.cell, self.lease, self.settings, self.pod = cell, lease, settings, pod
        self.node: Node = lease.node
        self.pool = pool  # where the node goes back to, when it may (None: torn down)
        self.parity = parity
        self.cursor = ""  # containerd's journal before this cell (a reused node's is long)
        self.unavailable = ""
        self.oom_ok = True  # whether sandboxes may lower oom_score_adj on this node
        self.cleaned = True  # no pod, or CRI removed them all: the node may serve another cell
        self.keep_logs_dir, self.record = keep_logs_dir, record
        self.driver = cell.target.kubelet_cgroup_driver
        self.placement: dict[str, str] = {}
        self.staged: list[str] = []  # imports written into a node that may serve another cell

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

    def failed(self, exc: StepFailed) -> None:
        if exc.step in ("sandbox", "container") and not exc.explained:
            exc.explained = host_capability_trouble(exc.error, self.oom_ok)
        super().failed(exc)

    def trouble(self, exc: ConformanceError) -> None:
        super().trouble(exc)
        if isinstance(exc, NodeUnavailable):  # no node here: the variant was not tested
            self.unavailable = str(exc)

    def not_tested(self) -> str:
        return self.unavailable or super().not_tested()

    def _stage_imports(self, node: Node) -> None:
        """The variant's own imports beside the node's config.toml, so containerd finds
        them where it would beside the variant (a missing import is our trouble, not the
        config's)."""
        data = self.target.effective.data
        found = parse_version(node.facts.get("containerd", "")) or (0, 0, 0)
        for rel, text in staged_imports(data, self.target.variant.path.parent):
            where = f"{os.path.dirname(nu.CONFIG)}/{rel}"
            doc = parse_toml(text, path=rel)  # parsed once already, by staged_imports
            if isinstance(get_at(doc, runtime_plugin_read(doc.get("version"), found)), dict):
                # containerd replaces a whole plugin table with an import's: the node's
                # own adaptation goes where the CRI settings now come from
                text = tomli_w.dumps(adapt(doc, self.rec.overrides, node))
            node.exec("mkdir", "-p", os.path.dirname(where))
            nu.write_file(node, where, text)
            self.staged.append(where)
            self.rec.overrides.append(f"imports: {rel} staged into the node at {where}")

    def release(self, judged: Judged, interrupted: bool) -> list[str]:
        node = self.node
        if self.staged:
            with contextlib.suppress(ConformanceError):
                node.exec("rm", "-f", *self.staged)
        if self.keep_logs_dir is not None and node.name:
            with contextlib.suppress(OSError, ConformanceError):
                self.keep_logs_dir.mkdir(parents=True, exist_ok=True)
                # containerd logs its CRI config, registry credentials included
                (self.keep_logs_dir / "containerd.journal").write_text(
                    redact_text(nu.journal(node, self.cursor)))
        try:
            problems = (self.pool.give_back(self.lease, keep=not interrupted and self.cleaned)
                        if self.pool is not None else node.teardown())
        except ConformanceError as exc:  # the reset's own trouble: the node goes
            problems = [f"node not reused: {exc}", *node.teardown()]
        return [p if p.startswith("node not reused") else f"tear-down: {p}" for p in problems]

    def observe(self) -> None:
        node, rec, clock = self.node, self.rec, self.node.clock
        t0 = clock.monotonic()
        if not self.lease.started:
            node.start(self.record)
        nu.read_facts(node, self.cell.recipe, nu.wait_booted(node))
        rec.facts["cgroup"] = node.facts.get("cgroup", "")
        parity = self.parity
        for i, line in enumerate(prepare(node, parity)):
            node.facts[f"parity{i + 1}"] = line
        self.cursor = nu.journal_cursor(node)
        rec.timings["boot"] = clock.monotonic() - t0
        t1 = clock.monotonic()
        config = self.config
        self.oom_ok = nu.can_lower_oom_score(node)
        text = (tomli_w.dumps(adapt(config, rec.overrides, node)) if isinstance(config, dict)
                else config)
        nu.write_file(node, nu.CONFIG, text)
        self._stage_imports(node)
        up = nu.restart_containerd(node, self.cursor, parity.kubelet_cri_endpoint)
        if not up.active:
            rec.timings["config"] = clock.monotonic() - t1
            raise StepFailed("config", exit_error(up.journal))
        if not up.at_endpoint:  # the kubelet would never find it: not a rejected config
            raise StepFailed("cri", wrong_endpoint(up.serves, parity.kubelet_cri_endpoint),
                             subtype="wrong-endpoint")
        cri = CriClient(node.cri_endpoint)
        try:
            ready = wait_ready(cri, clock, CRI_READY_TIMEOUT_S)
            if not ready.ready:
                raise StepFailed("cri", cri_load_error(nu.journal(node, self.cursor))
                                 or ready.last or "CRI did not become ready")
            refs = sandbox_refs(parity, node_default_sandbox(node),
                                [_sandbox_image(cri), *_configured_sandbox_images(config)])
            for refused in nu.import_images(node, refs):
                rec.notes.append(f"sandbox image {refused} not staged: containerd's own "
                                 "parser refuses the reference, so containerd judges it")
            wait_images(cri, clock, (SANDBOX_REF, WORKLOAD_REF))
            rec.notes.append("the local busybox is tagged as every sandbox image this "
                             f"containerd may ask for: {', '.join(refs)}")
            rec.timings["config"] = clock.monotonic() - t1
            self._pod(cri)
        finally:
            cri.close()

    def _pod(self, cri: CriClient) -> None:
        rec, clock = self.rec, self.node.clock
        t2 = clock.monotonic()
        cgroups = NodeCgroups(self.node, self.driver)
        worker = PodWorker(cri, cgroups, clock, self.pod.grace_s)
        self.cleaned = False
        try:
            worker.create()
            watch(self.node, cri, cgroups, worker, self.settings, self.pod.probes, rec,
                  self.placement, self.settings.window_for(self.cell.backend))
        finally:
            with contextlib.suppress(ConformanceError):
                said = worker.cleanup()
                rec.notes += said
                self.cleaned = not said
            rec.notes += cgroups.notes
            rec.timings["probe"] = clock.monotonic() - t2


def wrong_endpoint(serves: tuple[str, ...], endpoint: str) -> str:
    """The kubelet's view of a containerd that serves CRI elsewhere (its CRI dial error,
    as the kubelet's remote runtime service reports it)."""
    where = ", ".join(serves) or "no gRPC socket it logged"
    return (f"CRI not at the kubelet's endpoint: containerd serves {where}; the kubelet "
            f"looks at unix://{endpoint} (validate CRI v1 runtime API for endpoint "
            f"\"unix://{endpoint}\": connect: no such file or directory)")


def _configured_sandbox_images(config: dict[str, Any] | str) -> list[str]:
    """Every sandbox image the config names, wherever it names one: ``sandbox_image``
    (version 2) or ``pinned_images.sandbox`` (version 3), also under plugin ids of another
    layout than the version line says (containerd 2.x reads those; CRI's status does not
    report the sandbox image there)."""
    if isinstance(config, str):
        return SANDBOX_LINE.findall(config)
    found: list[str] = []
    stack: list[tuple[tuple[str, ...], Any]] = [((), config)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack += [((*path, str(k)), v) for k, v in node.items()]
        elif isinstance(node, str) and (path[-1:] == ("sandbox_image",)
                                        or path[-2:] == ("pinned_images", "sandbox")):
            found.append(node)
    return sorted(set(found))


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
