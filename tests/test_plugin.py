"""The pytest plugin, tested the way pytest tests itself: with pytester."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A throw-away project holding the real suites/ and clusters/."""
    for name in ("test_kind_matrix.py", "test_probe_tier.py"):
        shutil.copy(REPO / "suites" / name, pytester.path / name)
    shutil.copytree(REPO / "clusters", pytester.path / "clusters")
    return pytester


def test_every_cell_of_the_profile_is_an_item_with_a_readable_id(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--collect-only", "-q", "--profile", "default")
    out = result.stdout.str()
    assert "test_calico_node_stays_ready[v3.28.2-systemd-cgroup-off-k8s1.28]" in out
    assert "test_calico_node_stays_ready[v3.26.4-baseline-k8s1.28]" in out
    assert "24/25 tests collected (1 deselected)" in out  # the probe tier is not selected


def test_dash_k_selects_a_single_cell(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--collect-only", "-q", "-k", "v3.28.2-systemd-cgroup-off-k8s1.28")
    result.stdout.fnmatch_lines(["*1/25 tests collected (24 deselected)*"])


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
    lines = [ln for ln in proc.stdout.splitlines() if "calico-conformance:" in ln]
    assert len(lines) == 1, proc.stdout
    assert "pytest --plan" in lines[0] and "pytest tests" in lines[0]
    assert "Traceback" not in proc.stdout + proc.stderr


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


def test_a_users_config_toml_joins_the_matrix_as_a_variant(suite: pytest.Pytester,
                                                           tmp_path: Path) -> None:
    mine = tmp_path / "edge-node" / "config.toml"
    mine.parent.mkdir()
    mine.write_text('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n'
                    '  sandbox_image = "registry.k8s.io/pause:3.9"\n')
    result = suite.runpytest("--collect-only", "-q", "--profile", "smoke", "--variant", str(mine))
    result.stdout.fnmatch_lines(["*[[]v3.28.2-edge-node-k8s1.30[]]*"])


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
    result.stdout.fnmatch_lines(["*calico-conformance: no clusters/ directory here*"])


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
    matrix = json.loads((run_dir / "matrix.json").read_text())
    assert matrix["complete"] is True
    planned = {axes["containerd"] for axes in meta["planned_cells"]}
    assert planned == {c["axes"]["containerd"] for c in matrix["cells"]}, "one probe column"
