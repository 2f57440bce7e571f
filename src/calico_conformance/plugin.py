"""The pytest plugin: the matrix as test items, one per cell (and tier).

Laid out like pytest's own plugins: options, configure, fixtures, hooks. All
session state lives in ``config.stash`` under typed keys.
"""

from __future__ import annotations

import re
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

import platformdirs
import pytest

from .catalog import Catalog
from .cells import Cell, Profile, Variant
from .clock import SystemClock, parse_duration
from .errors import ConformanceError, InputError
from .model import Verdict
from .session import CellRunner, SessionState

state_key = pytest.StashKey[SessionState]()
# Why the plugin is idle: installed (pytest11) but run in a project without clusters/.
idle_key = pytest.StashKey[str]()
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


# --- options ---------------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("calico-conformance", "calico-conformance matrix")
    g.addoption("--profile", default="default", help="matrix profile (clusters/matrix.toml)")
    g.addoption("--matrix", default=None, help="matrix file (default: clusters/matrix.toml)")
    g.addoption("--clusters-dir", default=None, help="data directory (default: ./clusters)")
    g.addoption("--variant", action="append", default=[], metavar="PATH",
                help="add a containerd config.toml as a variant (repeatable)")
    g.addoption("--tier", choices=("kind", "probe", "node", "all"), default="kind",
                help="kind clusters, the containerd probe, kind-style nodes with an emulated "
                     "kubelet, or all three (probe, node, kind)")
    g.addoption("--plan", action="store_true",
                help="write kind configs, effective containerd configs and lint per cell; "
                     "no Docker needed")
    g.addoption("--soak", default=None, help="soak window per cell, e.g. 10m (default: profile)")
    g.addoption("--full-soak", action="store_true",
                help="watch the whole soak even when a cell can no longer become stable")
    g.addoption("--ready-grace", default="5m",
                help="how long calico-node may take to become Ready (capped at half the soak)")
    g.addoption("--keep-clusters", choices=("none", "failed", "all"), default="none")
    g.addoption("--reports-dir", default=None, help="where runs go (default: ./reports)")
    g.addoption("--run-id", default=None, help="name of this run's report folder")
    g.addoption("--calico-manifest-dir", default=None,
                help="offline mirror of manifests laid out as <tag>/calico.yaml")
    g.addoption("--calico-registry", default=None,
                help="replace docker.io/calico with this registry, e.g. quay.io/calico")
    g.addoption("--repeat", type=int, default=1, help="run each cell N times (flake detection)")
    g.addoption("--baseline", default=None, help="a previous matrix.json: fail on regressions")
    g.addoption("--containerd-bin", default=None, help="containerd for the probe tier")
    g.addoption("--probe-window", default="20s", help="how long the probe container must run")
    g.addoption("--node-images", default="*",
                help="node tier: recipes under clusters/nodes to run on, glob or comma list "
                     "(default: all; build them with `calico-conformance nodes build`)")
    g.addoption("--node-window", default="30s",
                help="node tier: observation window per cell (kubelet syncs, exec probes, "
                     "daemon-reload, containerd restart)")
    # --kind-bin is pytest-kind's option; we reuse it rather than define a second one.


# --- configure -------------------------------------------------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cc_cell(cell): a calico-conformance matrix cell")
    root = _project_root(config)
    if root is None and not config.getoption("clusters_dir"):
        # Installed, but this is not a calico-conformance project: stay out of the way.
        config.stash[idle_key] = ("no clusters/ directory here (pass --clusters-dir to point "
                                  "at the matrix data)")
        return
    try:
        state = _build_state(config, root or Path(str(config.invocation_params.dir)))
    except InputError as exc:
        raise pytest.UsageError(exc.one_line()) from exc
    config.stash[state_key] = state


def _project_root(config: pytest.Config) -> Path | None:
    for candidate in (Path(str(config.rootpath)), Path(str(config.invocation_params.dir))):
        # clusters/ alone is common (GitOps repos); the matrix file marks our projects.
        if (candidate / "clusters" / "matrix.toml").is_file():
            return candidate
    return None


def _build_state(config: pytest.Config, root: Path) -> SessionState:
    opt = config.getoption
    clusters = Path(opt("clusters_dir") or root / "clusters")
    catalog = Catalog(clusters)
    extra = [Path(v) for v in opt("variant")]
    profile: Profile = catalog.profile(opt("profile"), Path(opt("matrix")) if opt("matrix")
                                       else None, extra)
    soak_s = parse_duration(opt("soak"), option="--soak") if opt("soak") else None
    window = parse_duration(opt("probe_window"), option="--probe-window")
    node_window = parse_duration(opt("node_window"), option="--node-window")
    grace = parse_duration(opt("ready_grace"), option="--ready-grace")
    if opt("repeat") < 1:
        raise InputError("--repeat must be at least 1")
    run_id = opt("run_id") or datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    if not RUN_ID.match(run_id):
        raise InputError(f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-' only "
                         f"(it names a folder under the reports directory)")
    baseline = Path(opt("baseline")) if opt("baseline") else None
    if baseline is not None and not baseline.exists():
        raise InputError("--baseline: no such file or run directory", path=baseline)
    reports = Path(opt("reports_dir") or root / "reports")
    return SessionState(
        catalog=catalog, profile=profile, run_id=run_id, reports_dir=reports,
        tier=opt("tier"), plan=opt("plan"), soak_s=soak_s, full_soak=opt("full_soak"),
        ready_grace_s=grace, keep=opt("keep_clusters"), repeat=opt("repeat"),
        kind_bin=opt("kind_bin"), cache_dir=Path(platformdirs.user_cache_dir("calico-conformance")),
        manifest_dir=Path(opt("calico_manifest_dir")) if opt("calico_manifest_dir") else None,
        registry=opt("calico_registry"),
        baseline=baseline,
        containerd_bin=opt("containerd_bin"), probe_window_s=window,
        node_images=opt("node_images"), node_window_s=node_window,
        command_line=shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        clock=SystemClock(),
    )


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def cc_runner(request: pytest.FixtureRequest) -> CellRunner:
    """Runs cells for the suites; knows the session's settings and report store."""
    return request.config.stash[state_key].runner(request.config)


@pytest.fixture
def matrix_cell(request: pytest.FixtureRequest) -> Cell:
    cell: Cell = request.param
    return cell


@pytest.fixture
def probe_target(request: pytest.FixtureRequest) -> tuple[Variant, str]:
    """A variant and the kind release whose base config it patches."""
    target: tuple[Variant, str] = request.param
    return target


@pytest.fixture
def node_target(request: pytest.FixtureRequest) -> tuple[Variant, str]:
    """A variant and the node recipe (clusters/nodes) whose image it runs on."""
    target: tuple[Variant, str] = request.param
    return target


@pytest.fixture
def repeat_index(request: pytest.FixtureRequest) -> int:
    return int(getattr(request, "param", 1))


# --- hooks -----------------------------------------------------------------------------------

def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state = metafunc.config.stash.get(state_key, None)
    if state is None:
        return  # idle: collection_modifyitems explains, once
    repeats = list(range(1, state.repeat + 1))
    # A tier that is not selected is not parametrized; its bare item is deselected later.
    if "matrix_cell" in metafunc.fixturenames and (state.tier in ("kind", "all") or state.plan):
        cells = list(state.profile.cells)
        metafunc.parametrize("matrix_cell", [
            pytest.param(c, id=c.id, marks=_marks(c.expected, c.id)) for c in cells],
            indirect=True)
    if "probe_target" in metafunc.fixturenames and state.tier in ("probe", "all"):
        variants = state.probe_variants()
        metafunc.parametrize("probe_target", [
            pytest.param((v, k), id=f"probe-{v.name}-{k}",
                         marks=_marks(v.expected_probe, v.name))
            for v, k in variants], indirect=True)
    if "node_target" in metafunc.fixturenames and state.tier in ("node", "all"):
        metafunc.parametrize("node_target", [
            pytest.param((v, r), id=f"node-{v.name}-{r}",
                         marks=_marks(v.expected_node.get(r, ""), v.name))
            for v, r in state.node_targets()], indirect=True)
    if "repeat_index" in metafunc.fixturenames and state.repeat > 1:
        metafunc.parametrize("repeat_index", repeats, indirect=True,
                             ids=[f"r{i}" for i in repeats])


def _marks(expected: str, name: str) -> list[pytest.MarkDecorator]:
    if expected and expected != Verdict.STABLE.value:
        from .session import ExpectedBreakage

        return [pytest.mark.xfail(
            strict=True, raises=ExpectedBreakage,
            reason=f"known-bad: expected {expected}. If this XPASSes, the configuration no "
                   f"longer breaks this Calico version and the expectation for {name} needs "
                   f"updating")]
    return []


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    state = config.stash.get(state_key, None)
    if state is None:
        if any(_cell_param(it) is not None for it in items):
            pytest.exit(f"calico-conformance: {config.stash[idle_key]}",
                        returncode=pytest.ExitCode.USAGE_ERROR)
        return
    # Probe cells first, so --tier all can predict kind cells from them; then node cells.
    items.sort(key=lambda it: 0 if "probe_target" in getattr(it, "fixturenames", ()) else
               1 if "node_target" in getattr(it, "fixturenames", ()) else 2)
    if state.plan:
        summary = state.write_plan()
        state.plan_summary = summary
        config.hook.pytest_deselected(items=list(items))
        items[:] = []
        return
    # Items of a tier that is not selected carry no cell: drop them.
    unused = [it for it in items if _cell_param(it) is _EMPTY]
    if unused:
        config.hook.pytest_deselected(items=unused)
        items[:] = [it for it in items if it not in unused]


def pytest_collection_finish(session: pytest.Session) -> None:
    """After -k/-m deselection: check the tools and plan the run for what will really run."""
    config = session.config
    state = config.stash.get(state_key, None)
    if state is None or state.plan or config.option.collectonly:
        return
    if not any(_cell_param(it) is not None for it in session.items):
        return
    cells = [c for it in session.items if isinstance(c := _cell_param(it), Cell)]
    probes = [t for it in session.items if isinstance(t := _cell_param(it), tuple)
              and "probe_target" in getattr(it, "fixturenames", ())]
    if cells:
        problem = state.preflight(cells)
        if problem:
            pytest.exit(problem, returncode=pytest.ExitCode.USAGE_ERROR)
    try:
        state.open_store(sorted({c.id: c for c in cells}.values(), key=lambda c: c.id),
                         sorted({(v.name, k): (v, k) for v, k in probes}.values(),
                                key=lambda t: (t[0].name, t[1])))
    except InputError as exc:
        pytest.exit(exc.one_line(), returncode=pytest.ExitCode.USAGE_ERROR)


_EMPTY = object()


def _cell_param(item: pytest.Item) -> object:
    names = {"matrix_cell", "probe_target", "node_target"} & set(getattr(item, "fixturenames",
                                                                         ()))
    if not names:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    return params.get(names.pop(), _EMPTY)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    state = config.stash.get(state_key, None)
    if state is None:
        return
    for line in state.summary_lines():
        terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(state_key, None)
    if state is None:
        return
    if state.plan and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK
        return
    try:
        regressions = state.finish()
    except ConformanceError as exc:
        state.notes.append(f"error: {exc}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return
    if regressions:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
