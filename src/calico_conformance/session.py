"""One conformance session: registered as a pytest plugin object, its methods are the hooks.

Like pytest's junitxml (``LogXML``): ``pytest_configure`` builds this object once from
the settings and registers it, ``pytest_unconfigure`` removes it, so no hook has to
ask whether the suite is active. It turns the profile into test items, checks the
tools for what will really run, opens the run's store before the first cell, and
assembles and summarises the matrix at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from . import kind
from .catalog import Catalog
from .cells import Cell, NodeCell, ProbeCell, Profile
from .clock import Clock
from .errors import ConformanceError, InputError
from .items import _EMPTY, cell_param, collects_suites, expectation_marks, xdist_active
from .kind.binary import KindTools
from .kind.images import preload_cells
from .model import CellResult, Matrix, RunMeta
from .node.recipes import node_cells
from .parallel import expected_seconds, inotify_warnings, paired, shard_out
from .plan import PlanSummary, write_plan
from .reap import reap
from .reporting.facts import visible
from .reporting.finish import against_baseline, append_step_summary
from .reporting.runs import claim_run_dir
from .reporting.store import RunStore
from .reporting.text import plural, render_text
from .repro import Repro, summary_lines, write_summary
from .runmeta import run_meta
from .runner import CellRunner
from .runrecord import RECORD_FILE, append, open_record
from .settings import KindSettings, NodeOptions, ProbeSettings, RunSettings
from .signals import confirm, held, install, restore, shielded

SESSION_PLUGIN = "calico-conformance-session"


@dataclass(eq=False)  # a plugin object: pluggy keys plugins by identity
class ConformanceSession:
    run: RunSettings
    kind: KindSettings
    probe: ProbeSettings
    node: NodeOptions
    catalog: Catalog
    profile: Profile
    clock: Clock
    started_at: str
    kind_tools: KindTools = field(default_factory=KindTools)
    probe_results: dict[tuple[str, str], CellResult] = field(default_factory=dict)
    kept: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan_summary: PlanSummary | None = None
    matrix: Matrix | None = None
    store: RunStore | None = None
    runner: CellRunner | None = None
    run_dir_claimed: bool = False
    repro: Repro | None = None  # --repro: a reported bug's scenario
    _signals: dict[int, Any] = field(default_factory=dict)
    image_digests: dict[str, str] = field(default_factory=dict)

    def claim_run_dir(self) -> None:
        """Make the run's folder now that something will be written into it (once; an
        xdist worker writes into the folder its controller claimed)."""
        if self.run.worker or self.run_dir_claimed:
            return
        self.run_dir_claimed = True
        run_id = claim_run_dir(self.run.reports_dir, self.run.run_id,
                               chosen=self.run.run_id_chosen)
        if run_id != self.run.run_id:
            self.run = replace(self.run, run_id=run_id)
            self.probe = replace(self.probe, workdir=self.run.run_dir / "probe",
                                 keep_logs_dir=self.run.run_dir / "probe" / "logs",
                                 record=self.run.run_dir / RECORD_FILE)

    # --- the cells --------------------------------------------------------------------------

    def probe_cells(self) -> list[ProbeCell]:
        return [ProbeCell(t) for t in self.profile.targets()]

    def node_cells(self) -> list[NodeCell]:
        try:
            return node_cells(self.catalog, list({c.variant.name: c.variant
                                                  for c in self.profile.cells}.values()),
                              self.node.images)
        except InputError as exc:
            raise pytest.UsageError(exc.usage()) from exc

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """No Docker, no kind cell: say so before collection, in one line and with no
        summary that suggests something ran (pytest prints none when this raises)."""
        self._signals = install()  # SIGTERM too: CI runners and `timeout` stop jobs with it
        config = session.config
        if (not self.run.runs_kind or self.run.plan or config.option.collectonly
                or not collects_suites(config, self.catalog.root.parent / "suites")):
            return
        try:
            self.kind_tools = kind.preflight([], None, self.kind.cache_dir)
        except InputError as exc:
            raise pytest.UsageError(exc.usage()) from exc
        if not self.run.worker and (self.kind.max_clusters > 1 or xdist_active(config)):
            self.notes += inotify_warnings()

    @pytest.hookimpl(tryfirst=True)  # before the terminal's slow traceback rendering
    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        confirm()  # pytest is stopping: a second Ctrl-C now waits for the report

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        restore(self._signals)

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        # A tier that is not selected is not parametrized; its bare item is deselected later.
        if "matrix_cell" in metafunc.fixturenames and (self.run.runs_kind or self.run.plan):
            metafunc.parametrize("matrix_cell", [
                pytest.param(c, id=c.id, marks=expectation_marks(c.expected, c.id))
                for c in self.profile.cells], indirect=True)
        if "probe_cell" in metafunc.fixturenames and self.run.runs_probe:
            metafunc.parametrize("probe_cell", [
                pytest.param(c, id=c.id, marks=expectation_marks(c.expected, c.variant.name))
                for c in self.probe_cells()], indirect=True)
        if "node_cell" in metafunc.fixturenames and self.run.runs_node:
            metafunc.parametrize("node_cell", [
                pytest.param(c, id=c.id, marks=expectation_marks(c.expected, c.variant.name))
                for c in self.node_cells()], indirect=True)
        if "repeat_index" in metafunc.fixturenames and self.run.repeat > 1:
            repeats = list(range(1, self.run.repeat + 1))
            metafunc.parametrize("repeat_index", repeats, indirect=True,
                                 ids=[f"r{i}" for i in repeats])

    @pytest.hookimpl(trylast=True)  # after -k/-m: shards split what is selected
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        # Probe cells first, so --tier all can predict kind cells from them; then node cells.
        order = {ProbeCell: 0, NodeCell: 1}
        items.sort(key=lambda it: order.get(type(cell_param(it)), 2))
        unused = [it for it in items if cell_param(it) is _EMPTY]
        if self.run.shard is not None:
            unused += shard_out([it for it in items if it not in unused], cell_param,
                                self.run.shard, self._expected_s)
        if unused:
            config.hook.pytest_deselected(items=unused)
            items[:] = [it for it in items if it not in unused]
        if self.run.worker:  # each tier's cells paired long with short for the workers
            items[:] = [it for tier in (0, 1, 2) for it in paired(
                [i for i in items if order.get(type(cell_param(i)), 2) == tier],
                lambda i: self._expected_s(cell_param(i)))]

    def _expected_s(self, cell: object) -> float:
        return expected_seconds(cell, self.kind, self.probe.window_s)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """After -k/-m deselection: plan, or check the tools and open the store, for what
        will really run."""
        if self.run.plan:
            self._plan(session)
            return
        if session.config.option.collectonly:
            return
        cells = {c.id: c for it in session.items if isinstance(c := cell_param(it), Cell)}
        probes = {c.id: c for it in session.items
                  if isinstance(c := cell_param(it), ProbeCell | NodeCell)}
        if not cells and not probes:
            return
        try:
            if cells:
                releases = {c.point.kind.version: c.point.kind for c in cells.values()}
                self.kind_tools = kind.preflight(sorted(releases.values(),
                                                        key=lambda r: r.version),
                                                 self.kind.kind_bin, self.kind.cache_dir,
                                                 docker_version=self.kind_tools.docker_version)
                self.notes += self.kind_tools.notes
                if self.kind.preload_images:
                    self.image_digests = preload_cells(list(cells.values()), self.kind)
            if self.run.worker:  # the controller wrote run.json; cells go beside it
                self.store = RunStore(self.run.run_dir, self.meta([], []))
                return
            self.notes += reap(self.run.reports_dir)  # what killed runs left behind
            self.claim_run_dir()
            self.store = RunStore.create(self.run.reports_dir, self.meta(
                [cells[k] for k in sorted(cells)], [probes[k] for k in sorted(probes)]))
            open_record(self.store.run_dir)
        except InputError as exc:
            raise pytest.UsageError(exc.usage()) from exc

    def _plan(self, session: pytest.Session) -> None:
        """The plan instead of a run: every cell that would run, and then nothing runs."""
        cells = list({c.id: c for it in session.items
                      if isinstance(c := cell_param(it), Cell)}.values())
        if cells:
            try:
                self.claim_run_dir()
                self.plan_summary = write_plan(
                    cells, self.run.run_dir / "plan",
                    cluster_name=lambda c: kind.cluster_name(self.run.run_id, c))
            except InputError as exc:
                raise pytest.UsageError(exc.usage()) from exc
        else:
            self.notes.append("calico-conformance plan: no cell matches the selection "
                              "(-k/-m); nothing planned")
        session.config.hook.pytest_deselected(items=list(session.items))
        session.items[:] = []

    # --- the run's record -----------------------------------------------------------------

    def meta(self, cells: list[Cell], others: list[ProbeCell | NodeCell]) -> RunMeta:
        return run_meta(self, cells, others)

    def record(self, result: CellResult) -> CellResult:
        if self.store is None:  # a suite item run without collection_finish (e.g. -p)
            self.claim_run_dir()
            self.store = RunStore.create(self.run.reports_dir, self.meta([], []))
        self.store.write_cell(result)
        return result

    def started(self, cell_id: str, repeat: int) -> None:
        """Mark a cell in flight in the run folder (see ``RunStore.mark_running``)."""
        if self.store is not None:
            self.store.mark_running(cell_id, repeat, self.clock.now().isoformat())

    def cell_runner(self, config: pytest.Config) -> CellRunner:
        if self.runner is None:
            self.runner = CellRunner(self, config)
        return self.runner

    # --- the end --------------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.run.plan:
            if self.plan_summary is not None and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
                session.exitstatus = pytest.ExitCode.OK
            return
        if self.store is None or self.run.worker:
            return
        confirm()  # the run is on its way out: from here on, an interrupt waits for the report
        try:
            with shielded():
                self.matrix = self.store.finish(self.clock.now().isoformat())
                append(self.store.run_dir / RECORD_FILE, "closed", by="run")
            if held() and session.exitstatus != pytest.ExitCode.INTERRUPTED:
                session.exitstatus = pytest.ExitCode.INTERRUPTED
                self.notes.append("interrupted while the report was written; it was "
                                  "finished first")
            regressions: list[str] = []
            if self.run.baseline is not None:
                regressions, text = against_baseline(self.run.baseline, self.matrix)
                self.notes.append(text)
        except ConformanceError as exc:
            self.notes.append(f"error: {exc}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        if self.repro is not None:
            write_summary(self.repro, self.matrix.cells, self.run.run_dir)
        problem = append_step_summary(self.matrix)
        if problem:
            self.notes.append(problem)
        if regressions:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        plan = self.plan_summary
        if self.run.plan and plan is not None:
            terminalreporter.write_line(
                f"calico-conformance plan: {plural(plan.cells, 'cell')}; lint predicts "
                f"{plural(plan.predicted_failures, 'failure')} "
                f"({plural(plan.errors, 'error')}, {plural(plan.warnings, 'warning')}); agrees "
                f"with {plural(plan.agree, 'expectation')}, differs from {plan.disagree}"
                + (f"; {plan.not_tested} NOT TESTED (kind would skip the patch)"
                   if plan.not_tested else "") + f"; see {plan.path / 'summary.md'}")
        if self.matrix is not None:
            where = f"reports: {visible(self.run.run_dir)}"
            if not self.matrix.complete:
                where += (" (incomplete: reports/latest still points at the newest complete "
                          "run)")
            colour = terminalreporter.config.get_terminal_writer().hasmarkup
            lines = ["", render_text(self.matrix, colour=colour), where]
            if self.repro is not None:
                lines += ["", *summary_lines(self.repro, self.matrix.cells)]
            for line in lines:
                terminalreporter.write_line(line)
        for note in self.notes:
            terminalreporter.write_line("\n".join(visible(x) for x in note.splitlines()))
        for name, kubeconfig in self.kept:
            terminalreporter.write_line(f"kept cluster {name}: KUBECONFIG={visible(kubeconfig)}")
