"""Bad stored results: one line naming the file and field, exit 2, and no output folder."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from reporting_sample import sample_cells, sample_meta

from calico_conformance.cli import main
from calico_conformance.errors import InputError, ModelError
from calico_conformance.model import CellResult, RunMeta, from_dict, to_dict
from calico_conformance.reporting.store import RunStore, atomic_write, resolve_run_dir


def run_dir(root: Path, run_id: str = "r1") -> Path:
    cells = sample_cells()
    st = RunStore.create(root, sample_meta(cells, run_id))
    for c in cells:
        st.write_cell(c)
    return st.run_dir


def _edit(path: Path, change: dict[str, Any]) -> None:
    data = json.loads(path.read_text())
    data.update(change)
    path.write_text(json.dumps(data))


CELL_EDITS = [{"cell_id": 12345}, {"repeat": "2"}, {"started_at": None},
              {"evidence": {"notes": "abc"}}, {"verdict": "exploded"}, {"axes": []},
              {"evidence": {"exit_codes": [True]}}, {"config_check": {"host": {"a": 1}}}]
RUN_EDITS = [{"soak_s": "abc"}, {"planned_ids": "abc"}, {"repeat": 2.5}, {"run_id": None}]


@pytest.mark.parametrize("change", CELL_EDITS, ids=lambda c: json.dumps(c))
def test_report_on_a_wrongly_typed_cell_file_is_one_line_and_writes_nothing(
        tmp_path: Path, change: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    src = run_dir(tmp_path)
    victim = sorted((src / "cells").glob("*.json"))[0]
    _edit(victim, change)
    out = tmp_path / "out"
    assert main(["report", str(src), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and victim.name in err and next(iter(change)) in err
    assert not out.exists()


@pytest.mark.parametrize("change", RUN_EDITS, ids=lambda c: json.dumps(c))
def test_report_and_merge_on_a_wrongly_typed_run_json_exit_2(
        tmp_path: Path, change: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    src = run_dir(tmp_path)
    _edit(src / "run.json", change)
    assert main(["report", str(src), "-o", str(tmp_path / "out")]) == 2
    assert main(["merge", str(src), "-o", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "run.json" in err and next(iter(change)) in err
    assert not (tmp_path / "out").exists() and not (tmp_path / "m").exists()


def test_json_nested_100000_deep_is_one_line_not_a_recursion_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = run_dir(tmp_path)
    (src / "cells" / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    bad = tmp_path / "matrix.json"
    bad.write_text('{"run": ' + "[" * 100_000 + "]" * 100_000 + ', "cells": []}')
    assert main(["report", str(src), "-o", str(tmp_path / "out")]) == 2
    assert main(["diff", str(bad), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "nested too deeply" in err and "deep.json" in err
    assert not (tmp_path / "out").exists()


def test_from_dict_never_explodes_a_string_into_a_list() -> None:
    with pytest.raises(ModelError, match=r"evidence\.notes: expected an array, not a string"):
        from_dict(CellResult, {**to_dict(sample_cells()[0]), "evidence": {"notes": "abc"}})
    meta = to_dict(sample_meta(sample_cells(), "x"))
    with pytest.raises(ModelError, match="planned_ids"):
        from_dict(RunMeta, {**meta, "planned_ids": "abc"})


def test_from_dict_round_trips_every_sample_cell() -> None:
    for c in sample_cells():
        assert from_dict(CellResult, json.loads(json.dumps(to_dict(c)))) == c


@pytest.mark.parametrize("command", ["report", "merge"])
def test_report_and_merge_onto_an_existing_file_exit_2(
        tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]) -> None:
    src = run_dir(tmp_path)
    target = tmp_path / "taken"
    target.write_text("mine\n")
    assert main([command, str(src), "-o", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a directory" in err and str(target) in err
    assert target.read_text() == "mine\n"


def test_a_latest_link_pointing_outside_the_reports_folder_is_not_followed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outside = run_dir(tmp_path / "elsewhere")
    reports = tmp_path / "reports"
    reports.mkdir()
    os.symlink(outside, reports / "latest")
    assert main(["report", str(reports / "latest")]) == 2
    assert "outside its reports folder" in capsys.readouterr().err
    (reports / "latest").unlink()
    (reports / "latest").write_text("../elsewhere/r1\n")
    with pytest.raises(InputError, match="outside"):
        resolve_run_dir(reports / "latest")
    assert not (outside / "matrix.md").exists()


def test_a_write_interrupted_midway_leaves_no_temp_file(tmp_path: Path) -> None:
    with pytest.raises(UnicodeEncodeError):  # stands in for any interrupt inside write()
        atomic_write(tmp_path / "matrix.json", "half \ud800 written")
    assert list(tmp_path.iterdir()) == []


def test_reports_dir_that_is_a_regular_file_is_one_line(tmp_path: Path) -> None:
    afile = tmp_path / "reports"
    afile.write_text("")
    with pytest.raises(InputError, match="not a directory"):
        RunStore.create(afile, sample_meta(sample_cells(), "r1"))


def test_a_run_folder_appears_whole_and_a_plans_folder_is_filled_in_place(
        tmp_path: Path) -> None:
    meta = sample_meta(sample_cells(), "r1")
    (tmp_path / "r1" / "plan").mkdir(parents=True)  # `pytest --plan --run-id r1` was first
    st = RunStore.create(tmp_path, meta)
    assert (st.run_dir / "run.json").is_file() and (st.run_dir / "plan").is_dir()
    with pytest.raises(InputError, match="already exists"):
        RunStore.create(tmp_path, meta)
    fresh = RunStore.create(tmp_path, sample_meta(sample_cells(), "r2"))
    assert sorted(p.name for p in fresh.run_dir.iterdir()) == ["cells", "run.json"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
