"""The real suites/ against the stand-in cluster: every verdict class, every scenario.

One matrix run (module scope) drives a cell per scenario through the production
code path (fake kind/docker first on PATH, a local Kubernetes API); the tests
then read what a user would read: pytest's outcome, the cell JSON, the artifacts.
Smaller pytester runs cover the outcomes that need a run of their own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from load import scaled
from matrixdoc import read_matrix

from .project import CALICO, cell_id, cell_result, make_project, strip_ansi

pytest_plugins = ["standin.fixture"]

SCENARIOS = {
    "baseline": "stable",
    "systemd-cgroup-off": "restarts-exit0",
    "runsc-default-no-shim": "kind-create-fails",
    "sc-crashloop": "crashloop-exit1",
    "sc-never-ready": "never-ready-bird",
    "sc-flapping": "flapping",
    "sc-oom": "oom",
    "sc-sandbox": "sandbox-fails",
    "sc-image-pull": "image-pull",
    "sc-watch-drop": "watch-drop",
    "sc-gone": "gone-410",
    "sc-drift": "config-drift",
    "sandbox-image-pause-3.6": "never-ready-bird",  # expected stable: must FAIL with evidence
    "report-9524": "restarts-exit0",  # no expectation: observed, reported, passes
}


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    run_dir: Path
    standin: Any  # standin.fixture.StandIn
    requests: dict[str, int]

    def cell(self, variant: str) -> dict[str, Any]:
        return cell_result(self.run_dir, cell_id(variant))

    def outcome(self, variant: str) -> str:
        """pytest's word for the cell's test item, from the -rA short summary."""
        needle = f"[{cell_id(variant)}]"
        for line in strip_ansi(self.proc.stdout).splitlines():
            if needle in line and line.split(" ", 1)[0] in (
                    "PASSED", "FAILED", "XFAIL", "XPASS", "SKIPPED", "ERROR"):
                return line.split(" ", 1)[0]
        raise AssertionError(f"no summary line for {needle}:\n{self.proc.stdout[-3000:]}")


def run_suite(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`pytest` in the project, as a user runs it (what pytester.runpytest_subprocess does)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "--profile", "standin",
         "--calico-manifest-dir", str(project / "mirror"), "--ready-grace", scaled(1), *args],
        cwd=project, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def matrix_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    from standin.fixture import StandIn

    root = tmp_path_factory.mktemp("standin-matrix")
    project = make_project(root / "project", list(SCENARIOS))
    with StandIn(root / "standin", scenarios={cell_id(v): s for v, s in SCENARIOS.items()},
                 time_scale=0.01) as standin:
        env = {**standin.env, "GITHUB_STEP_SUMMARY": str(root / "step-summary.md")}
        proc = run_suite(project, env, "--run-id", "matrix")
        yield Run(proc, project / "reports" / "matrix", standin, dict(standin.requests()))


def test_a_stable_cell_passes_with_its_node_config_verified(matrix_run: Run) -> None:
    cell = matrix_run.cell("baseline")
    assert matrix_run.outcome("baseline") == "PASSED"
    assert (cell["verdict"], cell["outcome"]) == ("stable", "pass")
    assert cell["config_check"]["status"] == "match"
    assert cell["config_check"]["containerd_version"] == "1.7.18"
    assert cell["config_check"]["kubelet_cgroup_driver"] == "systemd"
    assert cell["artifacts"] == ""


def test_exit_zero_restarts_are_a_strict_xfail_labelled_as_kills(matrix_run: Run) -> None:
    cell = matrix_run.cell("systemd-cgroup-off")
    assert matrix_run.outcome("systemd-cgroup-off") == "XFAIL"
    assert (cell["verdict"], cell["subtype"], cell["outcome"]) == (
        "restarts", "killed-exit-0", "xfail")
    ev = cell["evidence"]
    assert ev["restarts"] >= 2 and ev["restart_interval_s"] > 0
    assert 0 in ev["exit_codes"] and "Completed" in ev["reasons"]
    assert any("runsvdir" in n for n in ev["notes"])
    assert {e["reason"] for e in ev["events"]} >= {"Unhealthy", "Killing"}
    assert ev["watched_s"] < 3.0, "two restarts should stop the soak early"


def test_evidence_for_a_failing_cell_lands_in_its_artifacts_folder(matrix_run: Run) -> None:
    art = Path(matrix_run.cell("systemd-cgroup-off")["artifacts"])
    assert art == matrix_run.run_dir / "cells" / cell_id("systemd-cgroup-off") / "artifacts"
    names = {p.name for p in art.iterdir()}
    assert {"kind-logs", "calico-node-pods.json", "kube-system-events.json",
            "kind-config.yaml"} <= names
    previous = [p for p in art.glob("calico-node-*.previous.log")]
    assert previous and "SIGTERM" in previous[0].read_text()
    nodes = art.parent / "nodes"
    assert any(p.name.endswith(".containerd-config.toml") for p in nodes.iterdir())
    assert any(p.name.endswith(".kubelet-config.yaml") for p in nodes.iterdir())
    assert (art.parent / "observations.jsonl").stat().st_size > 0


def test_a_failed_kind_create_keeps_kinds_containerd_error_and_the_nodes_logs(
        matrix_run: Run) -> None:
    cell = matrix_run.cell("runsc-default-no-shim")
    assert matrix_run.outcome("runsc-default-no-shim") == "XFAIL"
    assert cell["verdict"] == "cluster-fails"
    assert "runtime.v1.RuntimeService" in cell["evidence"]["error"]
    art = Path(cell["artifacts"])
    assert "failed to create cluster" in (art / "kind-create.stderr").read_text()
    # kind create --retain kept the failed node, so containerd's own log was exported.
    logs = list((art / "kind-logs").rglob("containerd.log"))
    assert logs and "failed to load plugin io.containerd.grpc.v1.cri" in logs[0].read_text()


def test_crashloopbackoff_with_exit_one_is_a_crash_loop(matrix_run: Run) -> None:
    cell = matrix_run.cell("sc-crashloop")
    assert (cell["verdict"], cell["subtype"]) == ("restarts", "crashloop-backoff")
    assert 1 in cell["evidence"]["exit_codes"]
    assert matrix_run.outcome("sc-crashloop") == "XFAIL"


def test_running_but_never_ready_quotes_the_bird_message(matrix_run: Run) -> None:
    cell = matrix_run.cell("sc-never-ready")
    assert (cell["verdict"], cell["subtype"]) == ("never-ready", "bird")
    assert "BIRD is not ready" in cell["evidence"]["probe_message"]


def test_readiness_lost_and_regained_is_flapping(matrix_run: Run) -> None:
    assert matrix_run.cell("sc-flapping")["verdict"] == "flapping"
    assert matrix_run.outcome("sc-flapping") == "XFAIL"


def test_oom_kills_are_restarts_of_their_own_kind(matrix_run: Run) -> None:
    cell = matrix_run.cell("sc-oom")
    assert (cell["verdict"], cell["subtype"]) == ("restarts", "oom-killed")
    assert 137 in cell["evidence"]["exit_codes"]


def test_image_pull_failures_are_not_started(matrix_run: Run) -> None:
    cell = matrix_run.cell("sc-image-pull")
    assert cell["verdict"] == "not-started"
    assert cell["subtype"] in ("ErrImagePull", "ImagePullBackOff", "Failed")
    assert matrix_run.outcome("sc-image-pull") == "XFAIL"


def test_sandbox_creation_failures_are_not_started(matrix_run: Run) -> None:
    cell = matrix_run.cell("sc-sandbox")
    assert (cell["verdict"], cell["subtype"]) == ("not-started", "FailedCreatePodSandBox")
    assert "cgroupsPath" in cell["evidence"]["error"]


@pytest.mark.parametrize(("variant", "marker"), [("sc-watch-drop", "stream dropped"),
                                                  ("sc-gone", "410 Gone")])
def test_a_dropped_or_expired_watch_is_resumed_and_the_cell_stays_judged(
        matrix_run: Run, variant: str, marker: str) -> None:
    cell = matrix_run.cell(variant)
    assert (cell["verdict"], matrix_run.outcome(variant)) == ("stable", "PASSED")
    resumes = matrix_run.run_dir / "cells" / cell_id(variant) / "watch-resumes.log"
    assert marker in resumes.read_text()


def test_a_node_config_that_differs_from_the_prediction_is_recorded(matrix_run: Run) -> None:
    check = matrix_run.cell("sc-drift")["config_check"]
    assert check["status"] == "differs"
    assert any("SystemdCgroup" in d for d in check["differences"])


def test_an_expected_stable_cell_that_breaks_fails_with_the_evidence_table(
        matrix_run: Run) -> None:
    assert matrix_run.outcome("sandbox-image-pause-3.6") == "FAILED"
    out = strip_ansi(matrix_run.proc.stdout)
    assert "POD" in out and "RESTARTS Δ" in out and "LAST REASON" in out
    assert f"artifacts: {matrix_run.run_dir / 'cells' / cell_id('sandbox-image-pause-3.6')}" in out


def test_a_variant_without_expectation_is_reported_not_judged(matrix_run: Run) -> None:
    cell = matrix_run.cell("report-9524")
    assert (cell["verdict"], cell["outcome"]) == ("restarts", "observed")
    assert matrix_run.outcome("report-9524") == "PASSED"


def test_the_run_writes_every_report_format_and_a_terminal_grid(matrix_run: Run) -> None:
    run_dir = matrix_run.run_dir
    for name in ("matrix.json", "matrix.md", "matrix.html", "junit.xml"):
        assert (run_dir / name).is_file(), name
    matrix = read_matrix(run_dir / "matrix.json")
    assert matrix["complete"] is True and len(matrix["cells"]) == len(SCENARIOS)
    assert f"reports: {run_dir}" in matrix_run.proc.stdout
    assert (run_dir.parent / "latest").exists()
    step_summary = (run_dir.parents[2] / "step-summary.md").read_text()
    assert "Crash-inducing configurations" in step_summary and "systemd-cgroup-off" in step_summary


def test_soak_progress_reaches_the_terminal_while_the_cell_runs(matrix_run: Run) -> None:
    out = strip_ansi(matrix_run.proc.stdout)
    line = f"{cell_id('baseline')}: done"
    assert line in out
    captured = [i for i in (out.find("= PASSES ="), out.find("= FAILURES =")) if i >= 0]
    assert out.index(line) < min(captured), "progress was captured instead of shown live"


def test_the_watch_uses_watches_not_polling(matrix_run: Run) -> None:
    watches = sum(n for k, n in matrix_run.requests.items() if k.startswith("watch "))
    lists = sum(n for k, n in matrix_run.requests.items() if k.startswith("list "))
    clusters = len(SCENARIOS) - 1  # one scenario fails at kind create
    resumes = sum(len(p.read_text().splitlines())
                  for p in matrix_run.run_dir.glob("cells/*/watch-resumes.log"))
    assert watches >= 4 * clusters
    # Per cluster: one list for each of 4 streams, one per resume, two for the artifacts of
    # a failing cell; never one per poll interval.
    assert lists <= 4 * clusters + resumes + 2 * clusters, matrix_run.requests


def test_clusters_are_deleted_unless_asked_to_keep_them(matrix_run: Run) -> None:
    assert matrix_run.standin.clusters() == {}
    assert "kept cluster" not in matrix_run.proc.stdout


def test_a_deleted_clusters_kubeconfig_with_its_client_key_goes_with_it(
        matrix_run: Run) -> None:
    """Issue 22: the kubeconfig stayed in cells/<cell>/ after the cluster was deleted."""
    assert list((matrix_run.run_dir / "cells").glob("*/kubeconfig")) == []


# --- runs of their own ------------------------------------------------------------------------

def test_a_known_bad_config_that_turns_stable_fails_the_run_as_a_strict_xpass(
        pytester: pytest.Pytester, standin: Any) -> None:
    project = make_project(pytester.path / "p", ["systemd-cgroup-off"])
    si = standin(default="stable")
    proc = run_suite(project, si.env, "--run-id", "xpass")
    assert proc.returncode == 1
    out = strip_ansi(proc.stdout)
    assert "[XPASS(strict)]" in out and "no longer breaks" in out
    assert cell_result(project / "reports" / "xpass", cell_id("systemd-cgroup-off"))[
        "outcome"] == "xpass"


def test_a_manifest_that_fails_its_pin_is_infrastructure_trouble_not_a_verdict(
        pytester: pytest.Pytester, standin: Any) -> None:
    project = make_project(pytester.path / "p", ["baseline"])
    (project / "mirror" / CALICO / "calico.yaml").write_text("tampered: true\n")
    si = standin(default="stable")
    proc = run_suite(project, si.env, "--run-id", "unknown")
    cell = cell_result(project / "reports" / "unknown", cell_id("baseline"))
    assert (cell["verdict"], cell["outcome"]) == ("unknown", "unknown")
    assert "does not match the pin" in cell["evidence"]["error"]
    assert "infrastructure trouble, not a property of the config" in proc.stdout


def test_kept_clusters_are_listed_with_their_kubeconfig(pytester: pytest.Pytester,
                                                        standin: Any) -> None:
    project = make_project(pytester.path / "p", ["baseline"])
    si = standin(default="stable")
    proc = run_suite(project, si.env, "--run-id", "keep", "--keep-clusters", "all")
    kept = [ln for ln in proc.stdout.splitlines() if ln.startswith("kept cluster ")]
    assert len(kept) == 1 and "KUBECONFIG=" in kept[0]
    assert len(si.clusters()) == 1


def test_an_existing_cluster_with_the_same_name_is_never_reused(pytester: pytest.Pytester,
                                                                standin: Any) -> None:
    from calico_conformance.catalog import Catalog
    from calico_conformance.kind import cluster_name

    project = make_project(pytester.path / "p", ["baseline"])
    si = standin(default="stable")
    cell = next(c for c in Catalog(project / "clusters").profile("standin").cells)
    name = cluster_name("reuse", cell)
    config = pytester.path / "squatter.yaml"
    config.write_text("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n"
                      "- role: control-plane\n")
    subprocess.run(["kind", "create", "cluster", "--name", name, "--config", str(config),
                    "--kubeconfig", str(pytester.path / "squatter.kubeconfig")],
                   env={**os.environ, **si.env}, check=True, capture_output=True)
    proc = run_suite(project, si.env, "--run-id", "reuse")
    result = cell_result(project / "reports" / "reuse", cell_id("baseline"))
    assert (result["verdict"], result["outcome"]) == ("unknown", "unknown")
    assert "already exists; refusing to reuse it" in result["evidence"]["error"]
    assert "infrastructure trouble" in proc.stdout
    assert list(si.clusters()) == [name]  # the squatter is untouched, nothing else was made


def test_a_run_id_that_already_exists_is_refused_before_any_cluster_is_made(
        pytester: pytest.Pytester, standin: Any) -> None:
    project = make_project(pytester.path / "p", ["baseline"])
    si = standin(default="stable")
    first = run_suite(project, si.env, "--run-id", "twice")
    assert first.returncode == 0, first.stdout[-2000:]
    second = run_suite(project, si.env, "--run-id", "twice")
    assert second.returncode == pytest.ExitCode.USAGE_ERROR
    assert "a run with this id already exists" in second.stdout + second.stderr


def test_a_run_killed_half_way_still_yields_a_valid_partial_matrix(
        pytester: pytest.Pytester, standin: Any) -> None:
    import signal
    import time

    import jsonschema

    from calico_conformance.cli import main as cli_main

    variants = ["baseline", "sc-watch-drop", "sc-gone"]
    project = make_project(pytester.path / "p", variants)
    si = standin(default="stable")
    run_dir = project / "reports" / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--profile", "standin",
         "--calico-manifest-dir", str(project / "mirror"), "--run-id", "killed"],
        cwd=project, env={**os.environ, **si.env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):  # bounded: at most ~60 s
            if list((run_dir / "cells").glob("*.json")) or proc.poll() is not None:
                break
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    finished = list((run_dir / "cells").glob("*.json"))
    assert 1 <= len(finished) < len(variants), "the kill should land between two cells"
    assert cli_main(["report", str(run_dir)]) == 0
    matrix = read_matrix(run_dir / "matrix.json")
    schema = json.loads((Path(__file__).resolve().parents[2] / "reports" / "schema" /
                         "matrix.schema.json").read_text())
    jsonschema.validate(json.loads((run_dir / "matrix.json").read_text()), schema)
    assert matrix["complete"] is False
    verdicts = sorted(c["verdict"] for c in matrix["cells"])
    assert len(verdicts) == len(variants) and verdicts.count("unknown") == len(variants) - len(
        finished)


@pytest.mark.realcontainerd
def test_tier_all_predicts_kind_cells_from_the_probe_without_spending_a_cluster(
        pytester: pytest.Pytester, standin: Any) -> None:
    from calico_conformance.probe import probe_available

    reason = probe_available()
    if reason:
        pytest.skip(f"the probe tier cannot run here: {reason}")
    project = make_project(pytester.path / "p", ["baseline", "cri-disabled"])
    shutil.copy(Path(__file__).resolve().parents[2] / "suites" / "test_probe_tier.py", project)
    si = standin(default="stable")
    proc = run_suite(project, si.env, "--run-id", "all", "--tier", "all", "--probe-window", "1s")
    assert proc.returncode == 0, proc.stdout[-3000:]
    run_dir = project / "reports" / "all"
    predicted = cell_result(run_dir, cell_id("cri-disabled"))
    assert (predicted["verdict"], predicted["outcome"]) == ("cluster-fails", "predicted")
    assert any("not observed on kind" in n for n in predicted["evidence"]["notes"])
    probe = cell_result(run_dir, "probe-cri-disabled-v0.24.0")
    assert probe["verdict"] == "cri-unavailable" and probe["axes"]["tier"] == "probe"
    assert cell_result(run_dir, cell_id("baseline"))["verdict"] == "stable"
    assert len(si.clusters()) == 0 and "predicted cluster-fails from the probe" in proc.stdout


def test_a_regression_against_the_baseline_fails_the_session_with_a_clear_list(
        pytester: pytest.Pytester, standin: Any) -> None:
    project = make_project(pytester.path / "p", ["baseline"])
    good = standin(default="stable")
    assert run_suite(project, good.env, "--run-id", "old").returncode == 0
    bad = standin(default="restarts-exit0")
    old = project / "reports" / "old" / "matrix.json"
    proc = run_suite(project, bad.env, "--run-id", "new", "--baseline", str(old))
    assert proc.returncode == 1
    out = strip_ansi(proc.stdout)
    assert "regression" in out.lower() and cell_id("baseline") in out


def test_repeats_run_each_cell_n_times_and_the_matrix_counts_them(
        pytester: pytest.Pytester, standin: Any) -> None:
    project = make_project(pytester.path / "p", ["baseline"])
    si = standin(default="stable")
    proc = run_suite(project, si.env, "--run-id", "rep", "--repeat", "2", "--keep-clusters",
                     "all")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert len(si.clusters()) == 2, "each repeat gets a cluster of its own"
    matrix = read_matrix(project / "reports" / "rep" / "matrix.json")
    assert sorted(c["repeat"] for c in matrix["cells"]) == [1, 2]
    assert "2/2" in (project / "reports" / "rep" / "matrix.md").read_text()


def test_dash_k_plans_only_the_selected_cells_so_the_matrix_is_complete(
        pytester: pytest.Pytester, standin: Any) -> None:
    project = make_project(pytester.path / "p", ["baseline", "sc-gone"])
    si = standin(default="stable")
    proc = run_suite(project, si.env, "--run-id", "k", "-k", "baseline")
    assert proc.returncode == 0, proc.stdout[-2000:]
    matrix = read_matrix(project / "reports" / "k" / "matrix.json")
    assert matrix["complete"] is True
    assert [c["cell_id"] for c in matrix["cells"]] == [cell_id("baseline")]


def test_ctrl_c_mid_soak_deletes_the_cluster(pytester: pytest.Pytester, standin: Any) -> None:
    import signal
    import time

    project = make_project(pytester.path / "p", ["baseline"])
    si = standin(default="stable")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--profile", "standin",
         "--calico-manifest-dir", str(project / "mirror"), "--run-id", "intr", "--soak", "60s"],
        cwd=project, env={**os.environ, **si.env}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(300):  # bounded: at most ~30 s until the soak is under way
            if si.clusters() and (project / "reports" / "intr" / "cells").exists() and any(
                    (project / "reports" / "intr" / "cells").rglob("observations.jsonl")):
                break
            time.sleep(0.1)
        assert si.clusters(), "the cluster never came up"
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, out[-2000:]
    assert si.clusters() == {}
