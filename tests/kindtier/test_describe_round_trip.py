"""What real `kubectl describe` prints of a stand-in cell, fed to `analyze`, gives that
cell's own verdict: one engine for the tiers and for what users paste (issue 21).

The suite runs stand-in cells with ``--keep-clusters all``; the real kubectl then describes
calico-node's pods through each kept cluster's kubeconfig, against the stand-in API server,
and the text goes to ``calico-conformance analyze`` as a user would paste it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .project import cell_id, cell_result, make_project
from .test_standin_matrix import SCENARIOS, run_suite

pytest_plugins = ["standin.fixture"]

# One cell per verdict class the kind tier assigns from a watch, as the matrix test scripts it.
CASES = {v: SCENARIOS[v] for v in ("baseline", "systemd-cgroup-off", "sc-crashloop", "sc-oom",
                                  "sc-never-ready", "sc-flapping", "sc-sandbox",
                                  "sc-image-pull")}
KUBECTL = shutil.which("kubectl")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(KUBECTL is None, reason="needs kubectl to render describe")]


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    from standin.fixture import StandIn

    root = tmp_path_factory.mktemp("describe-round-trip")
    project = make_project(root / "project", list(CASES))
    with StandIn(root / "standin", scenarios={cell_id(v): s for v, s in CASES.items()},
                 time_scale=0.01) as standin:
        proc = run_suite(project, standin.env, "--run-id", "rt", "--keep-clusters", "all")
        assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
        yield project / "reports" / "rt", standin.env


def describe(run_dir: Path, variant: str, env: dict[str, str]) -> str:
    kubeconfig = run_dir / "cells" / cell_id(variant) / "kubeconfig"
    assert KUBECTL is not None and kubeconfig.is_file(), kubeconfig
    proc = subprocess.run([KUBECTL, "--kubeconfig", str(kubeconfig), "describe", "pods",
                           "-n", "kube-system", "-l", "k8s-app=calico-node"],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def analyze(text: str, tmp_path: Path) -> dict[str, Any]:
    paste = tmp_path / "describe.txt"
    paste.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "calico_conformance.cli", "analyze",
                           "--format", "json", str(paste)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode in (0, 1, 3), proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


@pytest.mark.parametrize("variant", list(CASES))
def test_kubectl_describe_of_a_kept_cell_gets_the_cells_own_verdict(
        kept: tuple[Path, dict[str, str]], variant: str, tmp_path: Path) -> None:
    run_dir, env = kept
    cell = cell_result(run_dir, cell_id(variant))
    doc = analyze(describe(run_dir, variant, env), tmp_path)
    if cell["verdict"] == "flapping" and doc["verdict"] == "never-ready":
        # Described while not Ready: describe keeps no readiness history, so it reads as a
        # pod that is not Ready now, and the answer says a snapshot shows no history.
        # Described while Ready, its readiness failures past start-up make it flapping.
        assert any("not its history" in n for n in doc["evidence"]["notes"])
        return
    assert doc["verdict"] == cell["verdict"], (variant, doc["subtype"], doc["evidence"])
