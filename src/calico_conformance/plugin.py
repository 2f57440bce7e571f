"""The pytest plugin: options, configure, fixtures, and the one hook for an idle install.

Laid out like pytest's own plugins. ``pytest_configure`` builds the settings once,
then registers a :class:`~.session.ConformanceSession` (kept in ``config.stash``) as a
plugin object whose methods are the session's hooks; ``pytest_unconfigure`` removes it.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path
from typing import cast

import platformdirs
import pytest

from .catalog import Catalog
from .cells import Cell, NodeCell, ProbeCell, Profile
from .clock import SystemClock, parse_duration
from .context import RunContext
from .errors import InputError
from .items import cell_param
from .options import add_options
from .parallel import WORKER_RUN_ID, default_max_clusters, parse_shard
from .reporting.store import load_matrix
from .repro import cells as repro_cells
from .repro import load_repro
from .rootdir import MATRIX
from .rootdir import pytest_load_initial_conftests as pytest_load_initial_conftests
from .runner import CellRunner
from .session import SESSION_PLUGIN, ConformanceSession
from .settings import (
    MAX_REPEAT,
    KindSettings,
    NodeSettings,
    ProbeSettings,
    RunSettings,
)
from .xdist_controller import CONTROLLER_PLUGIN, XdistController

session_key = pytest.StashKey[ConformanceSession]()
# Why the plugin is idle: installed (pytest11) but run in a project without clusters/.
idle_key = pytest.StashKey[str]()
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


# --- options ---------------------------------------------------------------------------------

def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # pytest-kind's plugin serves one session-wide cluster through its own options
    # (--cluster-name, --keep-cluster, --kind-image, ...), none of which a per-cell matrix
    # can honour; it is blocked so that --help tells one story, and --kind-bin is ours.
    pluginmanager.set_blocked("pytest-kind")
    groups = getattr(parser, "_groups", [])
    groups[:] = [g for g in groups if getattr(g, "name", "") != "kind"]
    add_options(parser)


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
        session = build_session(config, root or Path(str(config.invocation_params.dir)))
    except InputError as exc:
        raise pytest.UsageError(exc.usage()) from exc
    config.stash[session_key] = session
    config.pluginmanager.register(session, SESSION_PLUGIN)
    if str(getattr(config.option, "dist", "no")) != "no" and not session.ctx.run.worker:
        config.pluginmanager.register(XdistController(session), CONTROLLER_PLUGIN)


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(session_key, None)
    if session is not None:
        del config.stash[session_key]
        config.pluginmanager.unregister(session)
        controller = config.pluginmanager.get_plugin(CONTROLLER_PLUGIN)
        if controller is not None:
            config.pluginmanager.unregister(controller)


def _project_root(config: pytest.Config) -> Path | None:
    for candidate in (Path(str(config.rootpath)), Path(str(config.invocation_params.dir))):
        # clusters/ alone is common (GitOps repos); the matrix file marks our projects.
        if (candidate / MATRIX).is_file():
            return candidate
    return None


def alone_checks(config: pytest.Config) -> None:
    """Options that mean nothing alone (or together) are usage errors, not silently idle."""
    opt = config.getoption
    if not opt("variant"):
        for name, flag in (("with_profile_variants", "--with-profile-variants"),
                           ("variant_as_patch", "--variant-as-patch"), ("expect", "--expect")):
            if opt(name):
                raise InputError(f"{flag} applies to --variant files, and none was given")
    elif opt("repro"):
        raise InputError("--repro runs its scenario's own candidate configs; --variant "
                         "cannot be added to it (run them apart)")
    workers = getattr(config.option, "numprocesses", None)
    if isinstance(workers, int) and workers < 0:
        raise InputError(f"-n {workers}: the number of workers is 0 or more (or auto)")


def build_session(config: pytest.Config, root: Path) -> ConformanceSession:
    opt = config.getoption
    clock = SystemClock()
    alone_checks(config)
    clusters = Path(opt("clusters_dir") or root / "clusters")
    catalog = Catalog(clusters)
    profile = catalog.profile(opt("profile"), Path(opt("matrix")) if opt("matrix") else None,
                              opt("variant"), only_extra=not opt("with_profile_variants"),
                              as_is=not opt("variant_as_patch"),
                              expect="stable" if opt("expect") else "")
    repro = load_repro(clusters, opt("repro")) if opt("repro") else None
    if repro is not None:
        profile = Profile(name=f"repro-{repro.id}", cells=repro_cells(repro, catalog, profile),
                          soak_s=profile.soak_s, description=repro.title)
    if not 1 <= opt("repeat") <= MAX_REPEAT:
        raise InputError(f"--repeat must be from 1 to {MAX_REPEAT}")
    if opt("max_clusters") is not None and opt("max_clusters") < 1:
        raise InputError("--max-clusters must be at least 1")
    started = clock.now()
    worker_input = getattr(config, "workerinput", None)
    handed = worker_input.get(WORKER_RUN_ID) if isinstance(worker_input, dict) else None
    run_id = handed or opt("run_id") or started.strftime("%Y%m%d-%H%M%S")
    if not RUN_ID.match(run_id):
        raise InputError(f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-' only "
                         f"(it names a folder under the reports directory)")
    baseline = Path(opt("baseline")) if opt("baseline") else None
    if baseline is not None and not baseline.exists():
        raise InputError("--baseline: no such file or run directory", path=baseline)
    if baseline is not None:  # a garbage baseline is found now, not after the whole run
        load_matrix(baseline)
    reports_dir = Path(opt("reports_dir") or root / "reports")
    if reports_dir.exists() and not reports_dir.is_dir():
        raise InputError("--reports-dir: exists and is not a directory", path=reports_dir)
    if not reports_dir.exists() and not (opt("plan") or config.option.collectonly):
        try:  # found now, not after the run: the folder every result is written to
            reports_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"--reports-dir: cannot create: {exc.strerror}",
                             path=reports_dir) from exc
    if reports_dir.is_dir() and not os.access(reports_dir, os.W_OK | os.X_OK):
        raise InputError("--reports-dir: not writable", path=reports_dir)
    nodes = 1 + max((c.workers for c in profile.cells), default=0)
    run = RunSettings(
        run_id=run_id, reports_dir=reports_dir,
        tier=opt("tier") or ("all" if repro else "kind"), plan=opt("plan"),
        repeat=opt("repeat"), baseline=baseline,
        command_line=shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        run_id_chosen=bool(opt("run_id")) or bool(handed),
        shard=parse_shard(opt("shard")) if opt("shard") else None, worker=bool(handed),
        max_slots=opt("max_clusters") or default_max_clusters(nodes))
    kind = KindSettings(
        cache_dir=Path(platformdirs.user_cache_dir("calico-conformance")),
        kind_bin=opt("kind_bin"),
        manifest_dir=Path(opt("calico_manifest_dir")) if opt("calico_manifest_dir") else None,
        registry=opt("calico_registry"), keep=opt("keep_clusters"), full_soak=opt("full_soak"),
        soak_s=parse_duration(opt("soak"), option="--soak") if opt("soak") else None,
        ready_grace_s=parse_duration(opt("ready_grace"), option="--ready-grace"),
        preload_images=opt("preload_images"))
    probe = ProbeSettings(
        workdir=run.run_dir / "probe", containerd_bin=opt("containerd_bin"),
        window_s=parse_duration(opt("probe_window"), option="--probe-window"), clock=clock,
        keep_logs_dir=run.run_dir / "probe" / "logs",
        allowed_binaries=tuple(opt("probe_allow_binary")))
    node = NodeSettings(images=opt("node_images"),
                        backends=opt("node_backends") or ("docker,vm" if repro else "docker"),
                        window_s=parse_duration(opt("node_window"), option="--node-window"))
    return ConformanceSession(RunContext(run=run, kind=kind, probe=probe, node=node,
                                         catalog=catalog, profile=profile, clock=clock,
                                         started_at=started.isoformat(), repro=repro))


# --- fixtures --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def cc_runner(request: pytest.FixtureRequest) -> CellRunner:
    """Runs cells for the suites; knows the session's settings and report store."""
    return request.config.stash[session_key].cell_runner(request.config)


@pytest.fixture
def matrix_cell(request: pytest.FixtureRequest) -> Cell:
    return cast(Cell, request.param)


@pytest.fixture
def probe_cell(request: pytest.FixtureRequest) -> ProbeCell:
    return cast(ProbeCell, request.param)


@pytest.fixture
def node_cell(request: pytest.FixtureRequest) -> NodeCell:
    return cast(NodeCell, request.param)


@pytest.fixture
def repeat_index(request: pytest.FixtureRequest) -> int:
    return int(getattr(request, "param", 1))


# --- hooks -----------------------------------------------------------------------------------

def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Only when idle: the suites were collected where there is no matrix to run."""
    if idle_key in config.stash and any(cell_param(it) is not None for it in items):
        raise pytest.UsageError(f"calico-conformance: {config.stash[idle_key]}")
