"""One conformance session: registered as a pytest plugin object, its methods are the hooks.

Like pytest's junitxml (``LogXML``): ``pytest_configure`` builds this object once from
the settings and registers it, ``pytest_unconfigure`` removes it, so no hook has to
ask whether the suite is active. It turns the profile into test items, checks the
tools for what will really run, opens the run's store before the first cell, and
assembles and summarises the matrix at the end.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from . import kind
from .cells import Cell, NodeCell, ProbeCell
from .context import RunContext, RunState
from .errors import ConformanceError, InputError
from .items import _EMPTY, cell_param, collects_suites, expectation_marks, xdist_active
from .kind.images import preload_cells
from .model import CellResult, RunMeta
from .parallel import inotify_warnings, paired, shard_out
from .plan import write_plan
from .reap import reap
from .reporting.facts import visible
from .reporting.finish import against_baseline, append_step_summary
from .reporting.runs import claim_run_dir
from .reporting.store import RunStore
from .reporting.text import plural, render_text
from .repro import summary_lines, write_summary
from .runmeta import run_meta
from .runner import CellRunner, nothing_ran
from .runrecord import RECORD_FILE, append, open_record
from .signals import confirm, held, install, restore, shielded, stopping
from .tiers import TIERS, node_pod_template, order, tier_of

SESSION_PLUGIN = "calico-conformance-session"


class ConformanceSession:
    """The hooks of one run, over its frozen :class:`RunContext` and its :class:`RunState`
    (a plugin object: pluggy keys plugins by identity)."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.state = RunState()
        self.runner: CellRunner | None = None
        self._signals: dict[int, Any] = {}

    def claim_run_dir(self) -> None:
        """Make the run's folder now that something will be written into it (once; an
        xdist worker writes into the folder its controller claimed)."""
        run = self.ctx.run
        if run.worker or self.state.run_dir_claimed:
            return
        self.state.run_dir_claimed = True
        run_id = claim_run_dir(run.reports_dir, run.run_id, chosen=run.run_id_chosen)
        if run_id != run.run_id:
            self.ctx = self.ctx.claimed(run_id)

    # --- the cells --------------------------------------------------------------------------

    def cells_of(self, tier_name: str) -> list[Any]:
        tier = next(t for t in TIERS if t.name == tier_name)
        try:
            return tier.cells(self.ctx)
        except InputError as exc:
            raise pytest.UsageError(exc.usage()) from exc

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """No Docker, no kind cell: say so before collection, in one line and with no
        summary that suggests something ran (pytest prints none when this raises)."""
        self._signals = install()  # SIGTERM too: CI runners and `timeout` stop jobs with it
        config, run = session.config, self.ctx.run
        if (not run.runs_kind or run.plan or config.option.collectonly
                or not collects_suites(config, self.ctx.catalog.root.parent / "suites")):
            return
        try:
            self.state.kind_tools = kind.preflight([], None, self.ctx.kind.cache_dir)
        except InputError as exc:
            raise pytest.UsageError(exc.usage()) from exc
        if not run.worker and (run.max_slots > 1 or xdist_active(config)):
            self.state.notes += inotify_warnings()

    @pytest.hookimpl(tryfirst=True)  # before the terminal's slow traceback rendering
    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        confirm()  # pytest is stopping: a second Ctrl-C now waits for the report

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.state.close()  # when the session never finished (a usage error after start)
        if not stopping():  # interrupted: pytest's own clean-up follows, a Ctrl-C still waits
            restore(self._signals)

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        # A tier that is not selected is not parametrized; its bare item is deselected later.
        # A plan is of the kind cells (what a cluster would run).
        run = self.ctx.run
        for tier in TIERS:
            if tier.fixture in metafunc.fixturenames and (
                    run.runs(tier.name) or (run.plan and tier.name == "kind")):
                metafunc.parametrize(tier.fixture, [
                    pytest.param(c, id=c.id, marks=expectation_marks(
                        c.expected, c.id if isinstance(c, Cell) else c.variant.name))
                    for c in self.cells_of(tier.name)], indirect=True)
        if "repeat_index" in metafunc.fixturenames and run.repeat > 1:
            repeats = list(range(1, run.repeat + 1))
            metafunc.parametrize("repeat_index", repeats, indirect=True,
                                 ids=[f"r{i}" for i in repeats])

    @pytest.hookimpl(trylast=True)  # after -k/-m: shards split what is selected
    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        # Registry order: probe cells first, so --tier all can predict kind cells from them.
        run = self.ctx.run
        items.sort(key=lambda it: order(cell_param(it)))
        unused = [it for it in items if cell_param(it) is _EMPTY]
        if run.shard is not None:
            unused += shard_out([it for it in items if it not in unused], cell_param,
                                run.shard, self._expected_s)
        if unused:
            config.hook.pytest_deselected(items=unused)
            items[:] = [it for it in items if it not in unused]
        if run.worker:  # each tier's cells paired long with short for the workers
            items[:] = [it for rank in range(len(TIERS) + 1) for it in paired(
                [i for i in items if order(cell_param(i)) == rank],
                lambda i: self._expected_s(cell_param(i)))]

    def _expected_s(self, cell: object) -> float:
        return tier_of(cell).expected_s(cell, self.ctx)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """After -k/-m deselection: plan, or check the tools and open the store, for what
        will really run."""
        if self.ctx.run.plan:
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
                self.state.kind_tools = kind.preflight(sorted(releases.values(),
                                                        key=lambda r: r.version),
                                                 self.ctx.kind.kind_bin, self.ctx.kind.cache_dir,
                                                 docker_version=self.state.kind_tools.docker_version)
                self.state.notes += self.state.kind_tools.notes
                if self.ctx.kind.preload_images:
                    self.state.image_digests = preload_cells(list(cells.values()), self.ctx.kind)
            if self.ctx.run.worker:  # the controller wrote run.json; cells go beside it
                self.state.store = RunStore(self.ctx.run.run_dir, self.meta([], []))
                return
            self._preflight_probes(session, probes.values())
            self.state.notes += reap(self.ctx.run.reports_dir)  # what killed runs left behind
            self.claim_run_dir()
            self.state.store = RunStore.create(self.ctx.run.reports_dir, self.meta(
                [cells[k] for k in sorted(cells)], [probes[k] for k in sorted(probes)]))
            open_record(self.state.store.run_dir)
        except InputError as exc:
            raise pytest.UsageError(exc.usage()) from exc

    def _preflight_probes(self, session: pytest.Session,
                          cells: Iterable[ProbeCell | NodeCell]) -> None:
        """Node cells run calico-node's exec probes from a Calico manifest: say before the
        run, not in a footnote after it, when there is none to read them from."""
        if not any(isinstance(c, NodeCell) for c in cells):
            return
        pod = node_pod_template(self.ctx, self.state)
        said = (f"node tier: exec probes from the {pod.source}" if pod.probes else
                f"node tier: {pod.source or 'no exec probes in the manifest'}; cells run "
                "without calico-node's exec probes (see --calico-manifest-dir)")
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"calico-conformance: {said}")

    def _plan(self, session: pytest.Session) -> None:
        """The plan instead of a run: every cell that would run, and then nothing runs."""
        cells = list({c.id: c for it in session.items
                      if isinstance(c := cell_param(it), Cell)}.values())
        if cells:
            try:
                self.claim_run_dir()
                self.state.plan_summary = write_plan(
                    cells, self.ctx.run.run_dir / "plan",
                    cluster_name=lambda c: kind.cluster_name(self.ctx.run.run_id, c))
            except InputError as exc:
                raise pytest.UsageError(exc.usage()) from exc
        else:
            self.state.notes.append("calico-conformance plan: no cell matches the selection "
                              "(-k/-m); nothing planned")
        session.config.hook.pytest_deselected(items=list(session.items))
        session.items[:] = []

    # --- the run's record -----------------------------------------------------------------

    def meta(self, cells: list[Cell], others: list[ProbeCell | NodeCell]) -> RunMeta:
        return run_meta(self.ctx, self.state.kind_tools, self.state.image_digests, cells,
                        others)

    def record(self, result: CellResult) -> CellResult:
        if self.state.store is None:  # a suite item run without collection_finish (e.g. -p)
            self.claim_run_dir()
            self.state.store = RunStore.create(self.ctx.run.reports_dir, self.meta([], []))
        self.state.store.write_cell(result)
        return result

    def started(self, cell_id: str, repeat: int) -> None:
        """Mark a cell in flight in the run folder (see ``RunStore.mark_running``)."""
        if self.state.store is not None:
            self.state.store.mark_running(cell_id, repeat, self.ctx.clock.now().isoformat())

    def cell_runner(self, config: pytest.Config) -> CellRunner:
        if self.runner is None:
            self.runner = CellRunner(self, config)
        return self.runner

    # --- the end --------------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.state.notes += [f"tear-down: {p}" for p in self.state.close()]  # every process
        if self.ctx.run.plan:
            if (self.state.plan_summary is not None
                    and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED):
                session.exitstatus = pytest.ExitCode.OK
            return
        if self.state.store is None or self.ctx.run.worker:
            return
        confirm()  # the run is on its way out: from here on, an interrupt waits for the report
        try:
            with shielded():
                self.state.matrix = self.state.store.finish(self.ctx.clock.now().isoformat())
                append(self.state.store.run_dir / RECORD_FILE, "closed", by="run")
            if held() and session.exitstatus != pytest.ExitCode.INTERRUPTED:
                session.exitstatus = pytest.ExitCode.INTERRUPTED
                self.state.notes.append("interrupted while the report was written; it was "
                                  "finished first")
            regressions: list[str] = []
            if self.ctx.run.baseline is not None:
                regressions, text = against_baseline(self.ctx.run.baseline, self.state.matrix)
                self.state.notes.append(text)
        except ConformanceError as exc:
            self.state.notes.append(f"error: {exc}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        if self.ctx.repro is not None:
            write_summary(self.ctx.repro, self.state.matrix.cells, self.ctx.run.run_dir)
        problem = append_step_summary(self.state.matrix)
        if problem:
            self.state.notes.append(problem)
        if regressions:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        untested = nothing_ran(session)
        if untested and session.exitstatus == pytest.ExitCode.OK:
            # "Not tested" is never a pass: a tier that cannot run here is no green run.
            self.state.notes.append(f"error: nothing was tested: {untested}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        plan = self.state.plan_summary
        if self.ctx.run.plan and plan is not None:
            terminalreporter.write_line(
                f"calico-conformance plan: {plural(plan.cells, 'cell')}; lint predicts "
                f"{plural(plan.predicted_failures, 'failure')} "
                f"({plural(plan.errors, 'error')}, {plural(plan.warnings, 'warning')}); agrees "
                f"with {plural(plan.agree, 'expectation')}, differs from {plan.disagree}"
                + (f"; {plan.not_tested} NOT TESTED (kind would skip the patch)"
                   if plan.not_tested else "") + f"; see {plan.path / 'summary.md'}")
        if self.state.matrix is not None:
            where = f"reports: {visible(self.ctx.run.run_dir)}"
            if not self.state.matrix.complete:
                where += (" (incomplete: reports/latest still points at the newest complete "
                          "run)")
            colour = terminalreporter.config.get_terminal_writer().hasmarkup
            lines = ["", render_text(self.state.matrix, colour=colour), where]
            if self.ctx.repro is not None:
                lines += ["", *summary_lines(self.ctx.repro, self.state.matrix.cells)]
            for line in lines:
                terminalreporter.write_line(line)
        for note in self.state.notes:
            terminalreporter.write_line("\n".join(visible(x) for x in note.splitlines()))
        for name, kubeconfig in self.state.kept:
            terminalreporter.write_line(f"kept cluster {name}: KUBECONFIG={visible(kubeconfig)}")
