"""The stand-in kind tier interrupted at three moments (the cluster is being created; the
soak is under way; every result is stored and the report is next) by SIGINT, SIGTERM or a
double Ctrl-C: the cluster is deleted, the record is closed, the folder is reportable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.interrupts import (
    SIGNALS,
    assert_cell_shown_as,
    assert_reportable,
    results_stored,
    send,
    wait_for,
)

from calico_conformance import runrecord
from load import scaled

from .project import make_project

pytest_plugins = ["standin.fixture"]


def recorded_cluster(run: Path) -> bool:
    return any(e["kind"] == "cluster" for e in runrecord.read(run / runrecord.RECORD_FILE))


@pytest.mark.parametrize("moment", ["start", "soak", "report"])
@pytest.mark.parametrize("sigs", list(SIGNALS))
def test_an_interrupted_kind_run_deletes_the_cluster_and_stays_reportable(
        pytester: pytest.Pytester, standin: Any, moment: str, sigs: str) -> None:
    project = make_project(pytester.path / "p", ["baseline"])
    si = standin(default="stable")
    run = project / "reports" / "intr"
    env = {**os.environ, **si.env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--profile", "standin",
         "--calico-manifest-dir", str(project / "mirror"), "--run-id", "intr", "--soak",
         scaled(2) if moment == "report" else "60s", "--ready-grace", scaled(1)],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: recorded_cluster(run), timeout=60)
        if moment == "soak":
            wait_for(lambda: si.clusters() and any((run / "cells").rglob("observations.jsonl")))
        if moment == "report":
            wait_for(lambda: results_stored(run), timeout=120)
    finally:
        out = send(proc, SIGNALS[sigs])
    assert proc.returncode in ((0, 2) if moment == "report" else (2,)), out[-2000:]
    assert si.clusters() == {}, out[-2000:]
    assert not list(run.rglob(".kind-config.private*"))
    assert_reportable(run, env, out)
    assert_cell_shown_as(run, moment)
