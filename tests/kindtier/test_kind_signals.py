"""The stand-in kind tier interrupted mid-soak by SIGTERM or a double Ctrl-C: the
cluster is deleted, the cell shows as interrupted, the run's record is closed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from calico_conformance import runrecord

from .project import make_project

pytest_plugins = ["standin.fixture"]


@pytest.mark.parametrize("sigs", [[signal.SIGTERM], [signal.SIGINT, signal.SIGINT],
                                  [signal.SIGTERM, signal.SIGTERM]],
                         ids=["sigterm", "double-sigint", "double-sigterm"])
def test_an_interrupted_soak_deletes_the_cluster_and_says_interrupted(
        pytester: pytest.Pytester, standin: Any, sigs: list[int]) -> None:
    project = make_project(pytester.path / "p", ["baseline"])
    si = standin(default="stable")
    run = project / "reports" / "intr"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--profile", "standin",
         "--calico-manifest-dir", str(project / "mirror"), "--run-id", "intr", "--soak", "60s"],
        cwd=project, env={**os.environ, **si.env}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(300):  # bounded: at most ~30 s until the soak is under way
            if si.clusters() and any((run / "cells").rglob("observations.jsonl")):
                break
            time.sleep(0.1)
        assert si.clusters(), "the cluster never came up"
        time.sleep(0.5)
        for i, sig in enumerate(sigs):
            if i:
                time.sleep(0.05)
            proc.send_signal(sig)
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out[-2000:]
    assert si.clusters() == {}
    assert "interrupted" in (run / "matrix.md").read_text()
    assert runrecord.state(runrecord.read(run / runrecord.RECORD_FILE)) == "closed"
    assert not list(run.rglob(".*.tmp-*")) and not list(run.rglob(".kind-config.private*"))
