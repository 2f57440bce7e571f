"""Shared fixtures for the suite's own tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = REPO_ROOT.parent / "shared" / "fixtures"


# What makes a test slow, as pytest's own testing/conftest.py decides it: a subprocess
# pytest run (the pytester fixtures), or a real containerd, Docker node or kind.
SLOW_FIXTURES = frozenset({"pytester", "suite", "standin", "repro_run", "matrix_run",
                           "project_and_standin"})
SLOW_MARKS = frozenset({"realnode", "realvm", "realcontainerd", "live"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: starts a subprocess pytest run, a real "
                            "containerd, a Docker node or a VM or a stand-in soak (run last; "
                            "deselect with -m 'not slow')")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow tests and run them last, so a quick failure shows first."""
    fast, slow = [], []
    for item in items:
        marks = {m.name for m in item.iter_markers()}
        if "slow" in marks or SLOW_MARKS & marks or SLOW_FIXTURES & set(
                getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
            slow.append(item)
        else:
            fast.append(item)
    items[:] = fast + slow


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="Rewrite golden files from the current output instead of comparing.")


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def clusters_dir() -> Path:
    return REPO_ROOT / "clusters"


@pytest.fixture
def shared_fixtures() -> Path:
    """Upstream data in ../shared/fixtures; tests that need it skip when it is absent."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip(f"upstream fixtures not found at {SHARED_FIXTURES} (../shared is absent)")
    return SHARED_FIXTURES


@pytest.fixture
def update_goldens(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A throw-away project holding the real suites/ and clusters/."""
    for path in (REPO_ROOT / "suites").glob("test_*.py"):
        shutil.copy(path, pytester.path / path.name)
    shutil.copytree(REPO_ROOT / "clusters", pytester.path / "clusters")
    return pytester
