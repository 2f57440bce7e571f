"""Real probe runs interrupted the way CI and people do it; nothing of the run remains.

Each test starts ``pytest --tier probe`` on the baseline cell in a throw-away project,
waits for a moment (the probe's tree exists; the pod is in its window; every result is
stored and the report is next), signals the
pytest process, and then looks for anything of *that* run: processes naming its tree or
token, mounts under it, cgroups with its token, temp dirs. Host-wide counts would see
the other engineers' containerd; the token and the tree path are ours alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.interrupts import (
    ENV,
    SIGNALS,
    assert_cell_shown_as,
    assert_reportable,
    copy_project,
    results_stored,
    send,
    wait_for,
)

from calico_conformance.hostcgroups import CGROUP_ROOT
from calico_conformance.probe import probe_available
from calico_conformance.probe.daemon import processes
from calico_conformance.tools import mount_points

pytestmark = pytest.mark.realcontainerd
# A third Ctrl-C lands while containerd stops (it once ended in a traceback).
PROBE_SIGNALS = {**SIGNALS, "triple-sigint": [signal.SIGINT] * 3}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    reason = probe_available()
    if reason:
        pytest.skip(f"real containerd probe unavailable: {reason}")
    return copy_project(tmp_path)


def start(project: Path, window: str = "60s") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--tier", "probe",
         "-k", "baseline", "--probe-window", window, "--run-id", "sig"],
        cwd=project, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def tree(project: Path) -> Path | None:
    found = sorted((project / "reports" / "sig" / "probe").glob("ccprobe-*"))
    return found[0] if found else None


def token_of(base: Path) -> str:
    return base.name.split("-")[1]


def ours(project: Path, token: str) -> list[str]:
    procs = [f"pid {p.pid}: {' '.join(p.argv)[:120]}" for p in processes().values()
             if p.state != "Z" and p.pid != os.getpid()
             and any(str(project) in a or token in a for a in p.argv)]
    mounts = [m for m in mount_points() if m.startswith(str(project)) or token in m]
    cgroups = [str(Path(cur) / d) for cur, subdirs, _ in _walk(CGROUP_ROOT) for d in subdirs
               if token in d]
    temps = [str(p) for p in Path(tempfile.gettempdir()).glob(f"ccp-{token}-*")]
    temps += [str(p) for p in (project / "reports").rglob("ccprobe-*")]
    return procs + mounts + cgroups + temps


def _walk(root: Path, depth: int = 5) -> Iterator[tuple[str, list[str], list[str]]]:
    for cur, subdirs, files in os.walk(root):
        if len(Path(cur).relative_to(root).parts) >= depth:
            subdirs.clear()
        yield cur, subdirs, files


def in_window(project: Path) -> bool:
    base = tree(project)
    if base is None:
        return False
    token = token_of(base)
    return any(p.argv and p.argv[0].endswith("sleep") for p in processes().values()
               if any(token in a for a in p.argv) or _child_of_shim(p.ppid, token))


def _child_of_shim(ppid: int, token: str) -> bool:
    parent = processes().get(ppid)
    return parent is not None and any(token in a for a in parent.argv)


@pytest.mark.parametrize("moment", ["start", "window", "report"])
@pytest.mark.parametrize("sigs", list(PROBE_SIGNALS))
def test_an_interrupted_probe_run_leaves_nothing_behind(project: Path, moment: str,
                                                        sigs: str) -> None:
    run = project / "reports" / "sig"
    proc = start(project, "1s" if moment == "report" else "60s")
    try:
        base = wait_for(lambda: tree(project))
        assert isinstance(base, Path)
        token = token_of(base)
        if moment == "window":
            wait_for(lambda: in_window(project))
        if moment == "report":
            wait_for(lambda: results_stored(run), timeout=120)
    finally:
        out = send(proc, PROBE_SIGNALS[sigs])
    assert proc.returncode in ((0, 2) if moment == "report" else (2,)), out  # 2: interrupted
    assert ours(project, token) == [], out
    assert_reportable(run, ENV, out)
    assert_cell_shown_as(run, moment)


@pytest.mark.parametrize("reaper", ["clean", "next-run"])
def test_after_kill_9_containerd_dies_with_pytest_and_the_reaper_removes_the_rest(
        project: Path, reaper: str) -> None:
    proc = start(project)
    try:
        base = wait_for(lambda: tree(project))
        assert isinstance(base, Path)
        token = token_of(base)
        wait_for(lambda: in_window(project))
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    wait_for(lambda: not [p for p in processes().values() if p.state != "Z"
                          and p.argv and p.argv[0].endswith("containerd")
                          and any(token in a or str(base) in a for a in p.argv)], timeout=10)
    assert ours(project, token), "a kill -9 should leave something for clean to find"
    if reaper == "next-run":  # the next run reaps the dead one before it starts
        nxt = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                              "--tier", "probe", "-k", "baseline", "--probe-window", "1s",
                              "--run-id", "next"], cwd=project, env=ENV, capture_output=True,
                             text=True, timeout=300, check=False)
        assert "sig: probe" in nxt.stdout, nxt.stdout
        assert ours(project, token) == []
        return
    clean = subprocess.run([sys.executable, "-m", "calico_conformance.cli", "clean",
                            "--reports-dir", str(project / "reports")], env=ENV,
                           capture_output=True, text=True, timeout=120, check=False)
    assert clean.returncode == 0 and "removed" in clean.stdout, clean.stdout + clean.stderr
    assert ours(project, token) == []
    again = subprocess.run([sys.executable, "-m", "calico_conformance.cli", "clean",
                            "--reports-dir", str(project / "reports")], env=ENV,
                           capture_output=True, text=True, timeout=120, check=False)
    assert "nothing left behind" in again.stdout
