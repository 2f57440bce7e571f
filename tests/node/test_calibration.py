"""Calibration in CI: every corpus config on every node image, against the committed table.

The committed ``docs/calibration.json`` comes from a full-window run (``docs/CALIBRATION.md``
says which). Here the node tier runs the corpus again with a short window (most configs
are decided when containerd starts or at the first sandbox) and ``calibrate --check``
fails on any verdict that changed: a change in what containerd does, in the node images
or in the harness shows here, with the cell named. The pure parts (agreement, rendering,
the check itself) run everywhere.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from calico_conformance.calibrate import Row, agreement, changed, render_markdown, to_json
from calico_conformance.model import Axes, CellResult, Tier, Verdict

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "configs"
COMMITTED = ROOT / "docs" / "calibration.json"
CI_WINDOW = "3s"


def _result(verdict: Verdict, not_tested: str = "", cgroup: str = "v1") -> CellResult:
    return CellResult("node-x-trixie", Axes("-", "x", "node-trixie", tier=Tier.NODE,
                                            cgroup=cgroup), "", verdict, not_tested=not_tested)


def test_a_predicted_cluster_failure_agrees_with_any_step_failure_on_the_node() -> None:
    for seen in (Verdict.CONFIG_REJECTED, Verdict.CRI_UNAVAILABLE, Verdict.SANDBOX_FAILS):
        assert agreement("cluster-fails", _result(seen)) == "agree"
    assert agreement("cluster-fails", _result(Verdict.STABLE)) == "disagree"
    assert agreement("", _result(Verdict.STABLE)) == "agree"
    assert agreement("", _result(Verdict.SANDBOX_FAILS)) == "disagree"


def test_a_predicted_kill_agrees_with_a_misplaced_container_on_v1_only() -> None:
    assert agreement("restarts", _result(Verdict.MISPLACED)) == "agree"
    assert agreement("restarts", _result(Verdict.MISPLACED, cgroup="v2")) == "disagree"
    assert agreement("restarts", _result(Verdict.RESTARTS, cgroup="v2")) == "agree"


def test_our_trouble_and_an_untested_cell_are_not_judged_never_agreement() -> None:
    assert agreement("", _result(Verdict.UNKNOWN)) == "not judged"
    assert agreement("", _result(Verdict.STABLE, "kind would skip it")) == "not judged"


ROW = Row("debian", "trixie", "1.7.24", "v1", "stable", "", ("CC017",), "agree", "", "")


def test_the_check_names_every_cell_whose_verdict_changed(tmp_path: Path) -> None:
    committed = tmp_path / "calibration.json"
    committed.write_text(to_json([ROW], "a run"))
    assert changed([ROW], committed) == []
    moved = Row(*[*ROW.__dict__.values()][:4], "sandbox-fails", *[*ROW.__dict__.values()][5:])
    assert changed([moved], committed) == ["debian on trixie: node stable -> sandbox-fails, "
                                           "lint stable -> stable"]
    assert json.loads(committed.read_text())["schema_version"] == 1


def test_the_table_says_where_it_comes_from_and_counts_agreement() -> None:
    text = render_markdown([ROW], "run 20261207, window 30s")
    assert "Source: run 20261207, window 30s. 1 cells: 1 agree, 0 disagree" in text
    assert "| `debian` | trixie | 1.7.24 | v1 | stable | stable | CC017 | agree |" in text


@pytest.mark.realnode
def test_every_corpus_config_on_every_node_image_gives_the_committed_verdict(
        tmp_path: Path) -> None:
    from calico_conformance.node import backend

    reason = backend().unavailable()
    if reason:
        pytest.skip(f"node tier unavailable: {reason}")
    if not COMMITTED.is_file():
        pytest.skip("no committed calibration table (docs/calibration.json)")
    manifests = ROOT.parent / "shared" / "fixtures" / "calico"  # exec probes, when present
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--tier", "node", "--variant", str(CORPUS),
         "--node-images", "*", "--node-window", CI_WINDOW, "-n", "2",
         *(["--calico-manifest-dir", str(manifests)] if manifests.is_dir() else []),
         "-q", "-p", "no:cacheprovider", "--reports-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=3600)
    runs = [p for p in tmp_path.iterdir() if p.is_dir() and (p / "run.json").is_file()]
    assert runs, run.stdout[-2000:] + run.stderr[-2000:]
    check = subprocess.run(
        [sys.executable, "-m", "calico_conformance.cli", "calibrate", str(runs[0]),
         "--corpus", str(CORPUS), "--notes", str(ROOT / "docs" / "calibration-notes.toml"),
         "--check", str(COMMITTED)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stdout + check.stderr
