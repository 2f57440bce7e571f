"""One kind cell's steps: create, check, install, soak; judged from the observation log.

The life around the steps (timestamps, interrupts, the shielded release, building the
result) is :func:`~..life.live`'s. Our trouble is an ``infra`` observation in the log,
so what was seen before it still counts and the verdict is never a property of the
config because of it; the release keeps evidence, then keeps or deletes the cluster.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from ..cells import Cell
from ..clock import Clock
from ..errors import ConformanceError, StepFailed, ToolError, ToolMissing
from ..kube import Kube
from ..life import Judged, live
from ..model import CellResult, ConfigCheck, Verdict
from ..observe import ObservationLog, cluster_failed, infra
from ..redact import private_file, redact_kind_config, redact_text
from ..settings import KindSettings
from ..verdict import judge
from ..watch import KubeSource, Progress, soak
from .cluster import Cluster, cluster_name
from .config import dump_kind_config, render_kind_config
from .install import collect_artifacts, install_calico
from .nodes import check_nodes


class KindLife:
    """What one cell has acquired and seen so far (a :class:`~..life.CellLife`)."""

    def __init__(self, cell: Cell, cell_dir: Path, cluster: Cluster, settings: KindSettings,
                 clock: Clock, repeat: int, config: tuple[Path, str],
                 progress: Callable[[Progress], None] | None) -> None:
        self.cell, self.dir, self.cluster = cell, cell_dir, cluster
        self.repeat, self.config, self.progress = repeat, config, progress
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
        self.artifacts = ""
        self.kept = False

    def declared(self) -> Cell:
        return self.cell

    def config_check(self) -> ConfigCheck:
        return self.check

    def not_tested(self) -> str:
        return self.cell.target.skipped_by_kind()

    def observe(self) -> None:
        config_file, text = self.config
        try:
            try:
                with private_file(config_file, text):  # kind itself gets the credentials
                    self.cluster.create(config_file)
            finally:
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
                      progress=self.progress, started_at=self.origin)
        self.watched = result.watched_s
        if result.resumes:
            (self.dir / "watch-resumes.log").write_text("\n".join(result.resumes) + "\n")

    def failed(self, exc: StepFailed) -> None:
        """A kind cell's findings are observations; a step's failure is logged as one."""
        t = min(self.clock.monotonic() - self.origin, self.soak_s)
        self.log.append(infra(t, self.clock.now().isoformat(), str(exc)))

    def trouble(self, exc: ConformanceError) -> None:
        """Trouble on our side becomes an ``infra`` observation."""
        t = min(self.clock.monotonic() - self.origin, self.soak_s)
        self.log.append(infra(t, self.clock.now().isoformat(), f"{type(exc).__name__}: {exc}"))

    def judge(self) -> Judged:
        """Close the log and the watch, then judge the log."""
        self.log.close()
        if self.source is not None:
            self.source.close()
        return Judged(*judge(self.log.items, self.thresholds, self.watched))

    def release(self, judged: Judged, interrupted: bool) -> list[str]:
        """Evidence, then keep or delete the cluster (Ctrl-C or our bug: still delete,
        skip the evidence)."""
        verdict = judged.verdict
        keep = self.settings.keep == "all" or (self.settings.keep == "failed"
                                               and verdict is not Verdict.STABLE)
        problems: list[str] = []
        try:
            try:
                exists = self.cluster.exists()
            except ToolError as err:
                exists = False
                problems.append(f"kind get clusters: {err}")
            if verdict is not Verdict.STABLE and not interrupted:
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
        finally:
            if self.kube is not None:
                self.kube.close()
        return [f"clean-up/evidence: {p}" for p in problems]


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
    life = KindLife(cell, cell_dir, Cluster(name, cell_dir / "kubeconfig", kind_bin), settings,
                    clock, repeat, (cell_dir / ".kind-config.private.yaml",
                                    dump_kind_config(cfg)), progress)
    result = live(life, clock)
    return result, (str(life.cluster.kubeconfig) if life.kept else None)
