"""`calico-conformance report | diff | merge` through the real entry point."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from reporting_sample import sample_cells, sample_meta

from calico_conformance.cli import main
from calico_conformance.model import Outcome, Verdict
from calico_conformance.reporting.store import RunStore
from matrixdoc import read_matrix


def run_dir(root: Path, run_id: str, flip: str = "") -> Path:
    cells = sample_cells()
    st = RunStore.create(root, sample_meta(cells, run_id))
    for c in cells:
        if c.cell_id == flip:
            c = dataclasses.replace(c, verdict=Verdict.RESTARTS, outcome=Outcome.FAIL)
        st.write_cell(c)
    return st.run_dir


def test_report_re_renders_every_format_from_stored_cells(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = run_dir(tmp_path, "r1")
    assert main(["report", str(src), "-o", str(tmp_path / "out")]) == 0
    for name in ("matrix.json", "matrix.md", "matrix.html", "junit.xml"):
        assert (tmp_path / "out" / name).is_file()
    assert read_matrix(tmp_path / "out" / "matrix.json")["run"]["run_id"] == "r1"
    assert "v3.26.4 / k8s1.28" in capsys.readouterr().out


def test_report_on_a_directory_that_is_not_a_run_exits_2_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no run.json" in err and str(tmp_path) in err


def test_diff_exits_1_on_a_regression_and_0_without(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = run_dir(tmp_path, "old")
    same = run_dir(tmp_path, "same")
    worse = run_dir(tmp_path, "worse", flip="v3.28.2-baseline-k8s1.28")
    assert main(["diff", str(old), str(same)]) == 0
    assert main(["diff", str(old), str(worse)]) == 1
    assert "v3.28.2-baseline-k8s1.28" in capsys.readouterr().out


def test_diff_accepts_matrix_json_files(tmp_path: Path) -> None:
    old = run_dir(tmp_path, "old")
    assert main(["report", str(old)]) == 0
    assert main(["diff", str(old / "matrix.json"), str(old), "--markdown"]) == 0


@pytest.mark.parametrize("content", ["{not json", '{"cells": []}', '{"schema_version": 99, '
                                     '"run": {"run_id": "x", "suite_version": "", "profile": ""},'
                                     ' "cells": []}'])
def test_diff_on_bad_input_exits_2(tmp_path: Path, content: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "matrix.json"
    bad.write_text(content)
    good = run_dir(tmp_path, "good")
    assert main(["diff", str(bad), str(good)]) == 2
    assert str(bad) in capsys.readouterr().err


def test_diff_on_a_missing_file_exits_2(tmp_path: Path) -> None:
    assert main(["diff", str(tmp_path / "nope.json"), str(tmp_path / "nope2.json")]) == 2


def test_merge_writes_a_run_directory_that_report_can_re_render(tmp_path: Path) -> None:
    cells = sample_cells()
    a = RunStore.create(tmp_path, sample_meta(cells, "a"))
    b = RunStore.create(tmp_path, sample_meta(cells, "b"))
    for i, c in enumerate(cells):
        (a if i % 2 else b).write_cell(c)
    out = tmp_path / "merged"
    assert main(["merge", str(a.run_dir), str(b.run_dir), "-o", str(out)]) == 0
    assert read_matrix(out / "matrix.json")["complete"] is True
    assert len(list((out / "cells").glob("*.json"))) == len(cells)
    assert main(["report", str(out)]) == 0
    assert main(["merge", str(a.run_dir), "-o", str(out)]) == 2  # would overwrite cells
    assert main(["merge", str(a.run_dir), "-o", str(out), "--force"]) == 0


def test_merge_refuses_conflicting_shards_with_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = run_dir(tmp_path, "a")
    b = run_dir(tmp_path, "b", flip="v3.28.2-baseline-k8s1.28")
    assert main(["merge", str(a), str(b), "-o", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "conflicting results for v3.28.2-baseline-k8s1.28" in err
