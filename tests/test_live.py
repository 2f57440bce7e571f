"""One real cell on a real kind cluster, where Docker and kind exist."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _docker_and_kind() -> str | None:
    if shutil.which("kind") is None:
        return "kind is not on PATH"
    if shutil.which("docker") is None:
        return "docker is not on PATH"
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                          capture_output=True, text=True, check=False)
    if info.returncode != 0:
        return f"docker info failed: {(info.stderr or info.stdout).strip().splitlines()[-1:]}"
    return None


@pytest.mark.live
def test_the_baseline_cell_is_stable_on_a_real_kind_cluster(pytester: pytest.Pytester) -> None:
    missing = _docker_and_kind()
    if missing:
        pytest.skip(f"live smoke test needs Docker and kind: {missing}")
    shutil.copy(REPO / "suites" / "test_kind_matrix.py", pytester.path)
    shutil.copytree(REPO / "clusters", pytester.path / "clusters")
    result = pytester.runpytest_subprocess(
        "--profile", "smoke", "-k", "baseline", "--soak", "2m", "--run-id", "live",
        timeout=1800)
    result.assert_outcomes(passed=1)
    assert (pytester.path / "reports" / "live" / "matrix.json").is_file()
