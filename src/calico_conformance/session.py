"""One conformance session: registered as a pytest plugin object, its methods are the hooks.

Like pytest's junitxml (``LogXML``): ``pytest_configure`` builds this object once from
the settings and registers it, ``pytest_unconfigure`` removes it, so no hook has to
ask whether the suite is active. It turns the profile into test items, checks the
tools for what will really run, opens the run's store before the first cell, and
assembles and summarises the matrix at the end.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest

from . import __version__, kind
from .catalog import Catalog
from .cells import Cell, ProbeCell, Profile
from .clock import Clock
from .errors import ConformanceError, ExpectedBreakage, InputError
from .kind.binary import KindTools
from .model import CellResult, Matrix, RunMeta, Verdict
from .plan import PlanSummary, write_plan
from .reap import reap
from .reporting.diff import diff_matrices, render_diff_text
from .reporting.facts import visible
from .reporting.markdown import render_markdown
from .reporting.store import RunStore, load_matrix
from .reporting.text import render_text
from .runner import CellRunner
from .runrecord import RECORD_FILE, append, open_record
from .settings import KindSettings, ProbeSettings, RunSettings
from .signals import confirm, install, restore, shielded

SESSION_PLUGIN = "calico-conformance-session"
CELL_FIXTURES = ("matrix_cell", "probe_cell")
_EMPTY = object()  # the param of a tier's item when that tier is not selected


def cell_param(item: pytest.Item) -> object:
    """The cell an item runs (``_EMPTY`` for an unselected tier), or None for other tests."""
    names = set(CELL_FIXTURES) & set(getattr(item, "fixturenames", ()))
    if not names:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    return params.get(names.pop(), _EMPTY)


def expectation_marks(expected: str, name: str) -> list[pytest.MarkDecorator]:
    """Known-bad cells are strict xfails: they pass by breaking the expected way."""
    if not expected or expected == Verdict.STABLE.value:
        return []
    return [pytest.mark.xfail(
        strict=True, raises=ExpectedBreakage,
        reason=f"known-bad: expected {expected}. If this XPASSes, the configuration no "
               f"longer breaks this Calico version and the expectation for {name} needs "
               f"updating")]


@dataclass(eq=False)  # a plugin object: pluggy keys plugins by identity
class ConformanceSession:
    run: RunSettings
    kind: KindSettings
    probe: ProbeSettings
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

    # --- the cells ------------------------------------------------------------------------

    def probe_cells(self) -> list[ProbeCell]:
        return [ProbeCell(t) for t in self.profile.targets()]

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._signals = install()  # SIGTERM too: CI runners and `timeout` stop jobs with it

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        confirm()  # pytest is stopping: let the report be written whole

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        restore(getattr(self, "_signals", {}))

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
        if "repeat_index" in metafunc.fixturenames and self.run.repeat > 1:
            repeats = list(range(1, self.run.repeat + 1))
            metafunc.parametrize("repeat_index", repeats, indirect=True,
                                 ids=[f"r{i}" for i in repeats])

    def pytest_collection_modifyitems(self, config: pytest.Config,
                                      items: list[pytest.Item]) -> None:
        # Probe cells first, so --tier all can predict kind cells from them.
        items.sort(key=lambda it: 0 if isinstance(cell_param(it), ProbeCell) else 1)
        if self.run.plan:
            try:
                self.plan_summary = write_plan(
                    list(self.profile.cells), self.run.run_dir / "plan",
                    cluster_name=lambda c: kind.cluster_name(self.run.run_id, c))
            except InputError as exc:
                raise pytest.UsageError(exc.one_line()) from exc
            config.hook.pytest_deselected(items=list(items))
            items[:] = []
            return
        unused = [it for it in items if cell_param(it) is _EMPTY]
        if unused:
            config.hook.pytest_deselected(items=unused)
            items[:] = [it for it in items if it not in unused]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """After -k/-m deselection: check the tools and open the store for what will run."""
        if self.run.plan or session.config.option.collectonly:
            return
        cells = {c.id: c for it in session.items if isinstance(c := cell_param(it), Cell)}
        probes = {c.id: c for it in session.items
                  if isinstance(c := cell_param(it), ProbeCell)}
        if not cells and not probes:
            return
        try:
            if cells:
                releases = {c.point.kind.version: c.point.kind for c in cells.values()}
                self.kind_tools = kind.preflight(sorted(releases.values(),
                                                        key=lambda r: r.version),
                                                 self.kind.kind_bin, self.kind.cache_dir)
                self.notes += self.kind_tools.notes
            self.notes += reap(self.run.reports_dir)  # what killed runs left behind
            self.store = RunStore.create(self.run.reports_dir, self.meta(
                [cells[k] for k in sorted(cells)], [probes[k] for k in sorted(probes)]))
            open_record(self.store.run_dir)
        except InputError as exc:
            pytest.exit(exc.one_line(), returncode=pytest.ExitCode.USAGE_ERROR)

    # --- the run's record -----------------------------------------------------------------

    def meta(self, cells: list[Cell], probes: list[ProbeCell]) -> RunMeta:
        if probes:
            from .probe import host_facts  # grpc and CRI stubs: only when probing

            containerd = host_facts(self.probe.containerd_bin).containerd_semver  # once
            probes = [ProbeCell(p.target, containerd) for p in probes]
        planned: list[Cell | ProbeCell] = [*probes, *cells]
        return RunMeta(
            run_id=self.run.run_id, suite_version=__version__, profile=self.profile.name,
            tier=self.run.tier, started_at=self.started_at,
            soak_s=self.kind.soak_s or self.profile.soak_s, full_soak=self.kind.full_soak,
            repeat=self.run.repeat, command_line=self.run.command_line,
            kind_versions=tuple(sorted(set(self.kind_tools.versions.values()))) or tuple(
                sorted({c.point.kind.version for c in cells})),
            node_images=tuple(sorted({c.point.node_image for c in cells})),
            calico_sha256={c.calico.version: c.calico.sha256 for c in cells},
            docker_version=self.kind_tools.docker_version,
            planned_cells=tuple(c.axes() for c in planned),
            planned_ids=tuple(c.id for c in planned),
        )

    def started(self, cell_id: str, repeat: int) -> None:
        """Mark a cell in flight in the run folder (see ``RunStore.mark_running``)."""
        if self.store is not None:
            self.store.mark_running(cell_id, repeat, self.clock.now().isoformat())

    def record(self, result: CellResult) -> CellResult:
        if self.store is None:  # a suite item run without collection_finish (e.g. -p)
            self.store = RunStore.create(self.run.reports_dir, self.meta([], []))
        self.store.write_cell(result)
        return result

    def cell_runner(self, config: pytest.Config) -> CellRunner:
        if self.runner is None:
            self.runner = CellRunner(self, config)
        return self.runner

    # --- the end --------------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.run.plan:
            if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
                session.exitstatus = pytest.ExitCode.OK
            return
        if self.store is None:
            return
        try:
            with shielded():  # the report is written whole, even on a second Ctrl-C
                self.matrix = self.store.finish(self.clock.now().isoformat())
                append(self.store.run_dir / RECORD_FILE, "closed", by="run")
            regressions = self._against_baseline(self.matrix)
        except ConformanceError as exc:
            self.notes.append(f"error: {exc}")
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            return
        self._step_summary(self.matrix)
        if regressions:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _against_baseline(self, matrix: Matrix) -> list[str]:
        if self.run.baseline is None:
            return []
        report = diff_matrices(load_matrix(self.run.baseline), matrix)
        self.notes.append(render_diff_text(report))
        return [f"{c.key}: {c.old} -> {c.new}" for c in report.regressions]

    def _step_summary(self, matrix: Matrix) -> None:
        """GitHub Actions shows this file on the run's page."""
        path = os.environ.get("GITHUB_STEP_SUMMARY")
        if not path:
            return
        try:
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(render_markdown(matrix) + "\n")
        except OSError as exc:
            self.notes.append(f"GITHUB_STEP_SUMMARY {path}: {exc.strerror}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        plan = self.plan_summary
        if self.run.plan and plan is not None:
            terminalreporter.write_line(
                f"calico-conformance plan: {plan.cells} cells; lint predicts "
                f"{plan.predicted_failures} failures ({plan.errors} errors, {plan.warnings} "
                f"warnings); agrees with {plan.agree} expectations, differs from "
                f"{plan.disagree}; see {plan.path / 'summary.md'}")
        if self.matrix is not None:
            for line in ("", render_text(self.matrix), f"reports: {visible(self.run.run_dir)}"):
                terminalreporter.write_line(line)
        for note in self.notes:
            terminalreporter.write_line("\n".join(visible(x) for x in note.splitlines()))
        for name, kubeconfig in self.kept:
            terminalreporter.write_line(f"kept cluster {name}: KUBECONFIG={visible(kubeconfig)}")
