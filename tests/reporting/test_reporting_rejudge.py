"""`report RUN_DIR --rejudge`: the verdict engine again over stored logs, no cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calico_conformance.cli import main
from calico_conformance.model import Axes, CellResult, Evidence, Outcome, RunMeta, Tier, Verdict
from calico_conformance.observe import Observation, ObservationLog
from calico_conformance.reporting.store import RunStore
from calico_conformance.verdict import judge
from matrixdoc import read_matrix

KIND = Axes(calico="v3.28.2", variant="systemd-cgroup-off", point="k8s1.28", tier=Tier.KIND)
PROBE = Axes(calico="-", variant="baseline", point="probe-v0.24.0", tier=Tier.PROBE)


def pod(t: float, restarts: int, ready: bool = True) -> Observation:
    return Observation(t=t, source="pod", app="calico-node", pod="calico-node-a",
                       container="calico-node", restart_count=restarts, ready=ready,
                       state="running", last_reason="Completed" if restarts else "",
                       last_exit_code=0 if restarts else None)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    meta = RunMeta(run_id="r1", suite_version="0", profile="default", soak_s=600.0,
                   planned_cells=(KIND, PROBE), planned_ids=("kind-cell", "probe-cell"))
    store = RunStore.create(tmp_path, meta)
    log = ObservationLog(store.run_dir / "cells" / "kind-cell" / "observations.jsonl")
    log.extend([pod(0, 0), pod(20, 0), pod(200, 1)])
    log.close()
    verdict, subtype, ev = judge(log.items, watched_s=600.0)
    assert verdict is Verdict.RESTARTS
    store.write_cell(CellResult(cell_id="kind-cell", axes=KIND, expected="stable",
                                verdict=verdict, subtype=subtype, outcome=Outcome.FAIL,
                                evidence=ev))
    store.write_cell(CellResult(cell_id="probe-cell", axes=PROBE, expected="stable",
                                verdict=Verdict.STABLE, outcome=Outcome.PASS,
                                evidence=Evidence()))
    return store.run_dir


def test_rejudging_with_a_higher_restart_tolerance_turns_one_restart_stable(
        run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(run_dir), "--rejudge", "--max-restarts", "1"]) == 0
    out = capsys.readouterr().out
    assert "kind-cell: restarts (killed-exit-0) -> stable" in out
    assert "probe-cell: kept (probe cell without observations.jsonl)" in out
    matrix = read_matrix(run_dir / "rejudged" / "matrix.json")
    cell = next(c for c in matrix["cells"] if c["cell_id"] == "kind-cell")
    assert (cell["verdict"], cell["outcome"]) == ("stable", "pass")
    assert any("re-judged from observations.jsonl" in n for n in cell["evidence"]["notes"])
    stored = json.loads((run_dir / "cells" / "kind-cell.json").read_text())
    assert stored["verdict"] == "restarts", "the stored cell files stay as observed"


def test_rejudging_with_the_default_thresholds_changes_nothing(
        run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(run_dir), "--rejudge"]) == 0
    assert "no verdict changed" in capsys.readouterr().out


def test_threshold_options_without_rejudge_are_refused_in_one_line(
        run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(run_dir), "--max-restarts", "3"]) == 2
    assert "only apply with --rejudge" in capsys.readouterr().err


def test_a_corrupt_log_is_one_line_naming_it(
        run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (run_dir / "cells" / "kind-cell" / "observations.jsonl").write_text("{not json\n")
    assert main(["report", str(run_dir), "--rejudge"]) == 2
    err = capsys.readouterr().err
    assert "observations.jsonl" in err and err.count("\n") == 1
