"""`pytest --repro calico-9524` end to end: the report's candidates on every tier here.

The kind tier runs against the stand-in cluster (fake kind/docker, a local API server);
its scenario map plays what each candidate would do, including a candidate that stops
reproducing on the newer Calico (how a fix is confirmed). The probe tier runs the real
containerd when this machine can (root, containerd installed) and is skipped otherwise.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

from .project import MINI_MANIFEST, REPO, make_project, strip_ansi
from .test_standin_matrix import run_suite

pytest_plugins = ["standin.fixture"]

OLD = "v3.26.4"
SCENARIOS = {  # cell id -> stand-in scenario
    f"{OLD}-systemd-cgroup-off-k8s1.28": "restarts-exit0",
    "v3.28.2-systemd-cgroup-off-k8s1.28": "restarts-exit0",
    f"{OLD}-report-9524-k8s1.28": "restarts-exit0",
    "v3.28.2-report-9524-k8s1.28": "stable",
    f"{OLD}-runsc-default-no-shim-k8s1.28": "kind-create-fails",
    "v3.28.2-runsc-default-no-shim-k8s1.28": "kind-create-fails",
}  # everything else (pause-3.6, the kind-defaults control): stable


def pin_old_calico(project: Path) -> None:
    """The stand-in project pins only v3.28.2; the repro also needs the report's v3.26.4."""
    manifest = MINI_MANIFEST.replace("v3.28.2", OLD)
    mirror = project / "mirror" / OLD
    mirror.mkdir(parents=True, exist_ok=True)
    (mirror / "calico.yaml").write_text(manifest)
    versions = project / "clusters" / "calico" / "versions.toml"
    text = versions.read_text()
    start = text.index("sha256 = ", text.index(f'version = "{OLD}"'))
    end = text.index("\n", start)
    pin = hashlib.sha256(manifest.encode()).hexdigest()
    versions.write_text(text[:start] + f'sha256 = "{pin}"' + text[end:])


@dataclass
class ReproRun:
    proc: CompletedProcess[str]
    run_dir: Path
    summary: dict[str, Any]

    def rows(self, tier: str) -> dict[tuple[str, str], dict[str, str]]:
        return {(r["candidate"], r["calico"]): r for r in self.summary["results"]
                if r["tier"] == tier}


@pytest.fixture(scope="module")
def repro_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReproRun]:
    from standin.fixture import StandIn

    root = tmp_path_factory.mktemp("repro")
    project = make_project(root / "project", ["baseline"])
    pin_old_calico(project)
    shutil.copy(REPO / "suites" / "test_probe_tier.py", project / "test_probe_tier.py")
    tier = "all" if shutil.which("containerd") else "kind"
    with StandIn(root / "standin", scenarios=SCENARIOS, time_scale=0.01) as standin:
        proc = run_suite(project, standin.env, "--run-id", "repro", "--repro", "calico-9524",
                         "--tier", tier, "--probe-window", "2s")
        run_dir = project / "reports" / "repro"
        summary = json.loads((run_dir / "repro.json").read_text()) if (
            run_dir / "repro.json").is_file() else {}
        yield ReproRun(proc, run_dir, summary)


def test_the_repro_runs_every_candidate_on_both_calico_versions_of_the_report(
        repro_run: ReproRun) -> None:
    assert repro_run.summary, repro_run.proc.stdout[-3000:] + repro_run.proc.stderr[-2000:]
    kind = repro_run.rows("kind")
    names = {"cgroup-driver-mismatch", "runsc-entry", "runsc-default", "pause-3.6",
             "kind-defaults"}
    assert {(n, v) for n in names for v in (OLD, "v3.28.2")} == set(kind)


def test_it_says_which_candidates_reproduce_the_symptom_on_the_kind_tier(
        repro_run: ReproRun) -> None:
    kind = repro_run.rows("kind")
    assert kind[("cgroup-driver-mismatch", OLD)]["result"] == "reproduces"
    assert kind[("cgroup-driver-mismatch", OLD)]["verdict"] == "restarts (killed-exit-0)"
    assert kind[("runsc-default", OLD)]["result"] == "does not reproduce"
    assert kind[("pause-3.6", OLD)]["result"] == "does not reproduce"
    assert kind[("kind-defaults", OLD)] == {**kind[("kind-defaults", OLD)],
                                            "result": "does not reproduce", "control": "true"}
    out = strip_ansi(repro_run.proc.stdout)
    assert "repro calico-9524 (open)" in out
    assert "reproduce the symptom: cgroup-driver-mismatch, runsc-entry" in out


def test_a_candidate_that_stops_reproducing_on_a_newer_calico_is_reported_as_such(
        repro_run: ReproRun) -> None:
    assert any(f.startswith("runsc-entry: reproduces on v3.26.4 but no longer on v3.28.2")
               for f in repro_run.summary["fixed"])
    assert "no longer on v3.28.2 (fixed there?)" in strip_ansi(repro_run.proc.stdout)


def test_the_probe_tier_runs_the_candidates_too_when_containerd_is_here(
        repro_run: ReproRun) -> None:
    if not shutil.which("containerd"):
        pytest.skip("containerd not installed: the probe tier is not available here")
    probe = {r["candidate"]: r for r in repro_run.summary["results"] if r["tier"] == "probe"}
    if not probe:
        pytest.skip("the probe tier skipped itself here: " + repro_run.proc.stdout[-500:])
    assert set(probe) == {"cgroup-driver-mismatch", "runsc-entry", "runsc-default",
                          "pause-3.6", "kind-defaults"}
    assert {r["result"] for r in probe.values()} == {"not applicable"}


def test_the_sandbox_recreation_is_recorded_as_init_container_re_runs(
        repro_run: ReproRun) -> None:
    cell = json.loads((repro_run.run_dir / "cells" /
                       f"{OLD}-systemd-cgroup-off-k8s1.28.json").read_text())
    assert any(n.startswith("init containers re-ran (install-cni x")
               for n in cell["evidence"]["notes"])
    log = (repro_run.run_dir / "cells" / f"{OLD}-systemd-cgroup-off-k8s1.28" /
           "observations.jsonl").read_text()
    assert '"init":true' in log and '"container":"install-cni"' in log
