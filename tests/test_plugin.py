"""The pytest plugin, tested the way pytest tests itself: with pytester."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from matrixdoc import read_matrix

REPO = Path(__file__).resolve().parent.parent



def test_every_cell_of_the_profile_is_an_item_with_a_readable_id(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--collect-only", "-q", "--profile", "default")
    out = result.stdout.str()
    assert "test_calico_node_stays_ready[v3.28.2-systemd-cgroup-off-k8s1.28]" in out
    assert "test_calico_node_stays_ready[v3.26.4-baseline-k8s1.28]" in out
    assert "24/26 tests collected (2 deselected)" in out  # the probe and node tiers are not


def test_dash_k_selects_a_single_cell(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--collect-only", "-q", "-k", "v3.28.2-systemd-cgroup-off-k8s1.28")
    result.stdout.fnmatch_lines(["*1/26 tests collected (25 deselected)*"])


def test_the_plan_writes_kind_configs_effective_configs_and_lint_without_docker(
        suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    result = suite.runpytest("--plan", "--run-id", "plan-test", "--profile", "smoke")
    assert result.ret == 0
    plan = suite.path / "reports" / "plan-test" / "plan"
    cell = plan / "v3.28.2-systemd-cgroup-off-k8s1.30"
    assert (cell / "kind-config.yaml").is_file()
    assert "SystemdCgroup = false" in (cell / "containerd-config.toml").read_text()
    findings = json.loads((cell / "lint.json").read_text())
    assert any(f["predicted"] == "restarts" for f in findings)
    assert (plan / "summary.md").is_file()


def test_the_plan_works_with_pytest_kind_disabled(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-p", "no:pytest-kind", "--plan", "--run-id", "nokind",
                             "--profile", "smoke")
    assert result.ret == 0, result.stdout.str()
    assert (suite.path / "reports" / "nokind" / "plan" / "summary.md").is_file()


def test_help_tells_one_story_every_option_with_its_default_and_no_pytest_kind_options(
        suite: pytest.Pytester) -> None:
    text = suite.runpytest("--help").stdout.str()
    ours = text[text.index("calico-conformance matrix:"):]
    ours = ours[:ours.index("\n\n")]
    for option in ("--profile", "--tier", "--soak", "--kind-bin", "--keep-clusters",
                   "--probe-window", "--repeat", "--baseline"):
        assert option in ours
    entries = [" ".join(e.split()) for e in ours.split("\n  --")[1:]]
    assert len(entries) >= 19 and all("(default:" in e for e in entries), entries
    assert "(smoke, default, release)" in " ".join(ours.split())  # profiles by name
    for foreign in ("--cluster-name", "--keep-cluster ", "--kind-image", "--kind-kubectl-bin"):
        assert foreign not in text


def test_without_docker_the_run_stops_with_one_line_that_says_what_to_do_instead(
        suite: pytest.Pytester, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "--profile", "smoke", "-p",
                           "no:cacheprovider"], cwd=suite.path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    out = proc.stdout + proc.stderr
    lines = [ln for ln in out.splitlines() if "calico-conformance:" in ln]
    assert len(lines) == 1, out
    assert lines[0].startswith("ERROR: calico-conformance: docker: not found on PATH. ")
    assert "pytest --plan" in lines[0] and "pytest tests" in lines[0]
    assert "--kind-bin" in lines[0]
    for noise in ("Traceback", "_pytest.outcomes.Exit", "!!!", "deselected", "no tests ran"):
        assert noise not in out


def test_an_unknown_profile_is_a_one_line_usage_error_naming_the_file(
        suite: pytest.Pytester) -> None:
    result = suite.runpytest("--profile", "nope", "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*matrix.toml: no profile 'nope' (profiles: smoke, default, release)*"])


def test_known_bad_cells_are_strict_xfails_and_stable_ones_are_plain_tests(
        suite: pytest.Pytester) -> None:
    items = suite.getitems(
        (suite.path / "test_kind_matrix.py").read_text())
    assert items  # collected from the real suite
    by_id = {it.callspec.id: it for it in items}
    bad = by_id["v3.28.2-systemd-cgroup-off-k8s1.28"].get_closest_marker("xfail")
    assert bad is not None and bad.kwargs["strict"] is True
    assert "no longer breaks" in bad.kwargs["reason"]
    assert by_id["v3.28.2-baseline-k8s1.28"].get_closest_marker("xfail") is None
    assert by_id["v3.28.2-report-9524-k8s1.28"].get_closest_marker("xfail") is None


def _user_config(tmp_path: Path, folder: str = "edge-node", version: int = 2) -> Path:
    mine = tmp_path / folder / "config.toml"
    mine.parent.mkdir(parents=True, exist_ok=True)
    mine.write_text(f'version = {version}\n[plugins."io.containerd.grpc.v1.cri"]\n'
                    '  sandbox_image = "registry.k8s.io/pause:3.9"\n')
    return mine


@pytest.mark.parametrize("spelling", ["space", "equals"])
def test_a_users_config_toml_is_the_only_variant_whichever_way_the_option_is_written(
        suite: pytest.Pytester, tmp_path: Path, spelling: str) -> None:
    mine = str(_user_config(tmp_path))
    args = ["--variant", mine] if spelling == "space" else [f"--variant={mine}"]
    result = suite.runpytest("--collect-only", "-q", "--profile", "smoke", *args)
    out = result.stdout.str()
    assert "test_calico_node_stays_ready[v3.28.2-edge-node-config-k8s1.30]" in out
    assert "systemd-cgroup-off" not in out  # only the given variant runs
    assert "tests/" not in out and "1/3 tests collected" in out  # the testpaths


def test_a_named_variant_runs_beside_the_profile_only_when_asked(
        suite: pytest.Pytester, tmp_path: Path) -> None:
    mine = _user_config(tmp_path)
    result = suite.runpytest("--collect-only", "-q", "--profile", "smoke",
                             f"--variant=edge={mine}", "--with-profile-variants")
    out = result.stdout.str()
    assert "[v3.28.2-edge-k8s1.30]" in out and "[v3.28.2-systemd-cgroup-off-k8s1.30]" in out


def test_a_variant_named_like_a_shipped_one_is_refused_in_one_line(
        suite: pytest.Pytester, tmp_path: Path) -> None:
    clash = tmp_path / "baseline.toml"
    clash.write_text("version = 2\n")
    result = suite.runpytest("--collect-only", f"--variant={clash}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "the name 'baseline' is a shipped variant" in err and "NAME=" in err
    assert "Traceback" not in err and "INTERNALERROR" not in err


def test_a_users_version_3_config_over_kinds_version_2_base_is_planned_as_not_tested(
        suite: pytest.Pytester, tmp_path: Path) -> None:
    mine = _user_config(tmp_path, "eks", version=3)
    result = suite.runpytest("--plan", "--run-id", "v3", f"--variant={mine}",
                             "--variant-as-patch", "-k", "k8s1.28")
    assert result.ret == 0, result.stdout.str()
    lint = (suite.path / "reports" / "v3" / "plan" / "v3.28.2-eks-config-k8s1.28" /
            "lint.txt").read_text()
    assert "CC007" in lint and "none of its settings reach the node" in lint
    assert "2 NOT TESTED (kind would skip the patch)" in result.stdout.str()


def test_a_users_file_is_the_nodes_whole_config_by_default_mounted_unmerged(
        suite: pytest.Pytester, tmp_path: Path) -> None:
    """Issue #20: merged over kind's base, which sets SystemdCgroup = true, a user's file
    hid exactly the setting that matters on their node."""
    mine = _user_config(tmp_path)
    result = suite.runpytest("--plan", "--run-id", "asis", f"--variant={mine}",
                             "-k", "k8s1.28")
    assert result.ret == 0, result.stdout.str()
    cell = suite.path / "reports" / "asis" / "plan" / "v3.28.2-edge-node-config-k8s1.28"
    kind_cfg = (cell / "kind-config.yaml").read_text()
    assert "containerdConfigPatches" not in kind_cfg
    assert f"hostPath: {mine}" in kind_cfg and "/etc/containerd/config.toml" in kind_cfg
    assert (cell / "containerd-config.toml").read_text().count("[plugins.") == 1


def test_as_a_patch_a_users_file_is_merged_over_kinds_base_or_per_file_by_its_sidecar(
        suite: pytest.Pytester, tmp_path: Path) -> None:
    mine = _user_config(tmp_path)
    result = suite.runpytest("--plan", "--run-id", "patch", f"--variant={mine}",
                             "--variant-as-patch", "-k", "k8s1.28")
    assert result.ret == 0, result.stdout.str()
    cell = suite.path / "reports" / "patch" / "plan" / "v3.28.2-edge-node-config-k8s1.28"
    assert "containerdConfigPatches" in (cell / "kind-config.yaml").read_text()
    mine.with_name("config.meta.toml").write_text("patch = true\n")
    result = suite.runpytest("--plan", "--run-id", "sidecar", f"--variant={mine}",
                             "-k", "k8s1.28")
    cell = suite.path / "reports" / "sidecar" / "plan" / "v3.28.2-edge-node-config-k8s1.28"
    assert "containerdConfigPatches" in (cell / "kind-config.yaml").read_text()


def test_a_plan_honours_dash_k_and_says_so_when_nothing_matches(
        suite: pytest.Pytester) -> None:
    picked = suite.runpytest("--plan", "--run-id", "k1", "-k", "baseline and k8s1.28")
    assert picked.ret == 0
    planned = sorted(p.name for p in (suite.path / "reports" / "k1" / "plan").iterdir()
                     if p.is_dir())
    assert planned == ["v3.26.4-baseline-k8s1.28", "v3.28.2-baseline-k8s1.28"]
    none = suite.runpytest("--plan", "--run-id", "k2", "-k", "no-such-cell")
    assert none.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert [ln for ln in none.stdout.lines if "no cell matches" in ln]


def test_two_runs_started_in_the_same_second_get_their_own_folders(
        suite: pytest.Pytester) -> None:
    for _ in range(2):
        assert suite.runpytest("--plan", "--profile", "smoke").ret == 0
    runs = [p for p in (suite.path / "reports").iterdir() if (p / "plan").is_dir()]
    assert len(runs) == 2
    again = suite.runpytest("--plan", "--profile", "smoke", "--run-id", runs[0].name)
    assert again.ret == pytest.ExitCode.USAGE_ERROR
    assert "a run with this id already exists" in again.stderr.str()


def test_an_unrelated_project_with_the_plugin_installed_is_left_alone(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_something_else():\n    assert True\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "clusters" not in result.stderr.str()


def test_the_suite_without_matrix_data_is_a_one_line_usage_error(
        pytester: pytest.Pytester) -> None:
    shutil.copy(REPO / "suites" / "test_kind_matrix.py", pytester.path)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: calico-conformance: no clusters/ directory here*"])


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--run-id", "../../escape", "--run-id '../../escape': use letters"),
    ("--baseline", "/nonexistent/matrix.json", "/nonexistent/matrix.json: --baseline: no such"),
    ("--soak", "1.2.3s", "--soak"),
])
def test_bad_options_are_refused_before_anything_runs(
        suite: pytest.Pytester, option: str, value: str, message: str) -> None:
    result = suite.runpytest(option, value, "--plan")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert not (suite.path / "reports").exists()


@pytest.mark.realcontainerd
def test_a_probe_only_run_plans_its_probe_cells_so_completeness_is_truthful(
        suite: pytest.Pytester) -> None:
    from calico_conformance.probe import probe_available

    reason = probe_available()
    if reason:
        pytest.skip(f"the probe tier cannot run here: {reason}")
    result = suite.runpytest_subprocess("--tier", "probe", "--profile", "smoke",
                                        "--probe-window", "1s", "--run-id", "probe-plan")
    assert result.ret == 0, result.stdout.str()[-2000:]
    run_dir = suite.path / "reports" / "probe-plan"
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["planned_ids"] == ["probe-baseline-v0.24.0", "probe-systemd-cgroup-off-v0.24.0"]
    matrix = read_matrix(run_dir / "matrix.json")
    assert matrix["complete"] is True
    planned = {axes["containerd"] for axes in meta["planned_cells"]}
    assert planned == {c["axes"]["containerd"] for c in matrix["cells"]}, "one probe column"


def test_self_tests_in_a_project_run_without_docker(suite: pytest.Pytester,
                                                   tmp_path: Path) -> None:
    (suite.path / "tests").mkdir()
    (suite.path / "tests" / "test_own.py").write_text("def test_ok():\n    assert True\n")
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests"],
                          cwd=suite.path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout


@pytest.mark.realcontainerd
def test_expect_stable_gates_a_users_configs_failing_the_bad_and_passing_the_good(
        suite: pytest.Pytester, tmp_path: Path) -> None:
    """Issue #20: without a sidecar a user's bad config could never fail a run."""
    from calico_conformance.probe import probe_available

    reason = probe_available()
    if reason:
        pytest.skip(f"the probe tier cannot run here: {reason}")
    bad = tmp_path / "bad.toml"
    bad.write_text('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n'
                   '  default_runtime_name = "nope"\n')
    good = _user_config(tmp_path)
    result = suite.runpytest_subprocess("--tier", "probe", f"--variant={bad}",
                                        "--expect", "stable", "--probe-window", "1s",
                                        "--run-id", "gate-bad", "--junitxml", "bad.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-2000:]
    assert 'failures="1"' in (suite.path / "bad.xml").read_text()
    assert "need attention" in (suite.path / "reports" / "gate-bad" / "matrix.md").read_text()
    result = suite.runpytest_subprocess("--tier", "probe", f"--variant={good}",
                                        "--expect", "stable", "--probe-window", "1s",
                                        "--run-id", "gate-good")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-2000:]
