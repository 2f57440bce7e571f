"""Shared by the tests that interrupt real runs (probe, node, stand-in kind): start a
``pytest`` in a throw-away project, wait for a moment, signal it, and check that the run
folder is whole and reportable afterwards."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from calico_conformance import runrecord

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}  # for the runs these tests start

# One Ctrl-C; SIGTERM from CI or `timeout`; a second Ctrl-C 50 ms later, in the tear-down.
SIGNALS = {"sigint": [signal.SIGINT], "sigterm": [signal.SIGTERM],
           "double-sigint": [signal.SIGINT, signal.SIGINT]}


def copy_project(dest: Path) -> Path:
    """A throw-away project: the real suites, clusters and pyproject."""
    for name in ("clusters", "suites"):
        shutil.copytree(REPO / name, dest / name)
    shutil.copy(REPO / "pyproject.toml", dest / "pyproject.toml")
    return dest


def wait_for(what: Callable[[], object], timeout: float = 60.0) -> object:
    """Poll until ``what`` is truthy (bounded; this is a wait, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = what()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def send(proc: subprocess.Popen[str], sigs: list[int]) -> str:
    """Signal ``proc`` (the second signal lands in its tear-down); its output once it exits."""
    try:
        for i, sig in enumerate(sigs):
            if i:
                time.sleep(0.05)
            proc.send_signal(sig)
        out, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    return out


def results_stored(run: Path) -> bool:
    """Every cell in flight has its result written: the run is about to write the report."""
    return any((run / "cells").glob("*.json")) and not any((run / "running").glob("*"))


def assert_reportable(run: Path, env: dict[str, str], out: str) -> None:
    """The run closed its record, left no temp file, and `report` rebuilds it."""
    assert not list(run.rglob(".*.tmp-*")), out
    assert runrecord.state(runrecord.read(run / runrecord.RECORD_FILE)) == "closed", out
    rep = subprocess.run([sys.executable, "-m", "calico_conformance.cli", "report", str(run)],
                         env=env, capture_output=True, text=True, timeout=120, check=False)
    assert rep.returncode == 0, rep.stderr
    assert "INTERNALERROR" not in out and "Traceback" not in out, out


def assert_cell_shown_as(run: Path, moment: str) -> None:
    """Mid-cell (``window``/``soak``), the baseline cell is *interrupted*; after its result
    was stored (``report``), it is in the report as observed."""
    matrix = (run / "matrix.md").read_text()
    if moment in ("window", "soak"):
        assert "interrupted" in matrix, matrix
    if moment == "report":
        assert "interrupted" not in matrix and "| `baseline` |" in matrix, matrix
