"""The same stock-distribution config gets one answer from every command (issue #20).

Debian's own /etc/containerd/config.toml (tests/corpus/configs) leaves SystemdCgroup unset:
under a systemd-driver kubelet runc places calico-node outside its pod cgroup. Tried as a
new user would, it got six answers from six commands; now lint, check, the plan, the
node tier's grid, the report's block and check on that run all say it is bad, and say why.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from matrixdoc import read_matrix

ROOT = Path(__file__).resolve().parents[2]
DEBIAN = ROOT / "tests" / "corpus" / "configs" / "debian-containerd-package.toml"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "calico_conformance.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)


@pytest.mark.realnode
def test_debians_stock_config_gets_one_answer_from_every_command(tmp_path: Path) -> None:
    from calico_conformance.node import backend
    from calico_conformance.node.recipes import load_recipes

    nodes = backend()
    tag = load_recipes(ROOT / "clusters")["trixie"].tag
    reason = nodes.unavailable() or nodes.image_missing(tag, "trixie")
    if reason:
        pytest.skip(f"node tier unavailable: {reason}")
    lint = _cli("lint", str(DEBIAN), "--containerd-version", "1.7.24")
    assert lint.returncode == 1 and "CC001 error" in lint.stdout
    check = _cli("check", str(DEBIAN), "--containerd-version", "1.7.24")
    assert check.returncode == 1 and ": BAD" in check.stdout, check.stdout
    plan = _pytest("--plan", "--variant", str(DEBIAN), "--reports-dir", str(tmp_path / "p"),
                   "--run-id", "plan", "-k", "k8s1.28")
    assert plan.returncode == 0, plan.stdout[-2000:]
    assert "lint predicts" in plan.stdout and "0 failures" not in plan.stdout
    node = _pytest("--tier", "node", "--variant", str(DEBIAN), "--node-images", "trixie",
                   "--node-window", "3s", "--reports-dir", str(tmp_path / "n"),
                   "--run-id", "node")
    run = tmp_path / "n" / "node"
    cells = read_matrix(run / "matrix.json")["cells"]
    assert [c["verdict"] for c in cells] == ["misplaced"], node.stdout[-2000:]
    report = (run / "matrix.md").read_text()
    assert "| `debian-containerd-package` | 1.7.24 | **bad** |" in report
    assert "**1 of your configs is bad**" in report and "No alarms" not in report
    again = _cli("check", str(DEBIAN), "--from-run", str(run))
    assert again.returncode == 1 and ": BAD" in again.stdout
    assert "decided by: node on the trixie node (docker), cgroup v1" in again.stdout
    assert "another cgroup version" in again.stdout
