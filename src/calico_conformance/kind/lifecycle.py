"""The life of one kind cell: create, check, install, soak, judge, and always clean up.

Written as Cilium's connectivity tests register finalizers: each step that acquires
something pushes its release onto an :class:`contextlib.ExitStack`, so the way out
runs in reverse on every path (a verdict, our trouble, Ctrl-C). Every step that can
fail on our side ends as an ``unknown`` verdict with the reason, never as a property
of the config, and the cluster is deleted unless it is to be kept.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from ..cells import Cell
from ..clock import Clock
from ..errors import ConformanceError, ToolError, ToolMissing
from ..kube import Kube
from ..model import CellResult, ConfigCheck, Evidence, Verdict
from ..observe import ObservationLog, cluster_failed, infra
from ..redact import private_file, redact_kind_config, redact_text
from ..results import build_result
from ..settings import KindSettings
from ..signals import confirm, shielded
from ..verdict import judge
from ..watch import KubeSource, Progress, soak
from .cluster import Cluster, cluster_name
from .config import dump_kind_config, render_kind_config
from .install import collect_artifacts, install_calico
from .nodes import check_nodes


class _CellLife:
    """What one cell has acquired and seen so far; each method is one step or finalizer."""

    def __init__(self, cell: Cell, cell_dir: Path, cluster: Cluster, settings: KindSettings,
                 clock: Clock) -> None:
        self.cell, self.dir, self.cluster = cell, cell_dir, cluster
        self.settings, self.clock = settings, clock
        self.log = ObservationLog(cell_dir / "observations.jsonl")
        self.kube: Kube | None = None
        self.source: KubeSource | None = None
        self.check = ConfigCheck(skipped_patches=tuple(
            s.describe() for s in cell.effective.skipped))
        self.soak_s = settings.soak_for(cell)
        self.thresholds = settings.thresholds_for(cell)
        self.origin = clock.monotonic()
        self.watched: float | None = None
        self.verdict, self.subtype, self.evidence = Verdict.UNKNOWN, "", Evidence()
        self.artifacts = ""
        self.kept = False

    def run(self, config_file: Path, progress: Callable[[Progress], None] | None) -> None:
        try:
            try:
                self.cluster.create(config_file)
            finally:
                config_file.unlink(missing_ok=True)  # kind has read its credentials
                (self.dir / "kind-create.stderr").write_text(
                    redact_text(self.cluster.create_stderr))
        except ToolError as exc:
            if isinstance(exc, ToolMissing) or exc.returncode is None:
                raise  # kind missing or timed out: our trouble, not the config's
            self.log.append(cluster_failed(0.0, self.clock.now().isoformat(),
                                           exc.stderr or str(exc)))
            return
        nodes_dir = self.dir / "nodes"
        nodes_dir.mkdir(exist_ok=True)
        self.check = check_nodes(self.cell, self.cluster.nodes(), self.settings.docker,
                                 nodes_dir)
        self.kube = Kube(self.cluster.kubeconfig, cache_dir=self.dir)
        self.kube.wait_api_ready()
        self.source = KubeSource(self.kube)
        self.origin = self.clock.monotonic()
        self.source.start(self.clock)  # watch from install on: the soak window starts here
        install_calico(self.kube, self.cell, self.settings, self.cluster)
        result = soak(self.source, self.clock, self.soak_s, self.log,
                      thresholds=self.thresholds, full_soak=self.settings.full_soak,
                      progress=progress, started_at=self.origin)
        self.watched = result.watched_s
        if result.resumes:
            (self.dir / "watch-resumes.log").write_text("\n".join(result.resumes) + "\n")

    def our_trouble(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                    tb: TracebackType | None) -> bool:
        """Finalizer 1: trouble on our side becomes an ``unknown`` observation."""
        if isinstance(exc, ConformanceError):
            t = min(self.clock.monotonic() - self.origin, self.soak_s)
            self.log.append(infra(t, self.clock.now().isoformat(),
                                  f"{type(exc).__name__}: {exc}"))
            return True
        return False

    def judge(self) -> None:
        """Finalizer 2: close the log and the watch, then judge the log."""
        self.log.close()
        if self.source is not None:
            self.source.close()
        self.verdict, self.subtype, self.evidence = judge(
            self.log.items, self.thresholds, self.watched)

    def release(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                tb: TracebackType | None) -> bool:
        """Finalizer 3: evidence, then keep or delete the cluster. Nothing may be raised
        from here: it would hide a Ctrl-C or lose the verdict."""
        interrupted = exc is not None  # Ctrl-C or our bug: still delete, skip the evidence
        keep = self.settings.keep == "all" or (self.settings.keep == "failed"
                                               and self.verdict is not Verdict.STABLE)
        problems: list[str] = []
        try:
            try:
                exists = self.cluster.exists()
            except ToolError as err:
                exists = False
                problems.append(f"kind get clusters: {err}")
            if self.verdict is not Verdict.STABLE and not interrupted:
                art_dir = self.dir / "artifacts"
                art_dir.mkdir(exist_ok=True)
                for f in (self.dir / "kind-config.yaml", self.dir / "kind-create.stderr"):
                    if f.exists():
                        shutil.copy(f, art_dir / f.name)
                problems += collect_artifacts(self.kube, self.cluster, art_dir, exists)
                self.artifacts = str(art_dir)
            self.kept = keep and exists and not interrupted
            if self.cluster.attempted and not self.kept:
                try:
                    self.cluster.delete()
                except ToolError as err:
                    problems.append(str(err))
            if problems:
                self.evidence = replace(self.evidence, notes=(
                    *self.evidence.notes, *(f"clean-up/evidence: {p}" for p in problems)))
        finally:
            if self.kube is not None:
                self.kube.close()
        return False


def run_cell(cell: Cell, *, kind_bin: str, run_id: str, cell_dir: Path,
             settings: KindSettings, clock: Clock, repeat: int = 1,
             progress: Callable[[Progress], None] | None = None,
             ) -> tuple[CellResult, str | None]:
    """One cell, start to finish. Returns the result and the kept kubeconfig, if kept."""
    name = cluster_name(run_id, cell, repeat)
    cell_dir.mkdir(parents=True, exist_ok=True)
    cfg = render_kind_config(cell, name)
    (cell_dir / "kind-config.yaml").write_text(dump_kind_config(redact_kind_config(cfg)))
    # kind itself gets the credentials: 0600, in the run folder, removed once created.
    cfg_path = cell_dir / ".kind-config.private.yaml"
    started = clock.now().isoformat()
    life = _CellLife(cell, cell_dir, Cluster(name, cell_dir / "kubeconfig", kind_bin),
                     settings, clock)
    def release(exc_type: type[BaseException] | None, exc: BaseException | None,
                tb: TracebackType | None) -> bool:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            confirm()  # on its way out: a second Ctrl-C waits for the cluster's deletion
        with shielded():
            return life.release(exc_type, exc, tb)

    with contextlib.ExitStack() as stack:
        stack.enter_context(private_file(cfg_path, dump_kind_config(cfg)))
        stack.push(release)
        stack.callback(life.judge)
        stack.push(life.our_trouble)
        life.run(cfg_path, progress)
    result = build_result(cell, life.verdict, subtype=life.subtype, evidence=life.evidence,
                          config_check=life.check, artifacts=life.artifacts,
                          started_at=started, finished_at=clock.now().isoformat(),
                          repeat=repeat, not_tested=cell.target.skipped_by_kind())
    return result, (str(life.cluster.kubeconfig) if life.kept else None)
