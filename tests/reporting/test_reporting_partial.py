"""Honest partial results: a run killed mid-matrix says what it knows and no more."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from reporting_sample import sample_cells, sample_meta

from calico_conformance.model import Outcome
from calico_conformance.reporting import render_junit, render_markdown, render_text
from calico_conformance.reporting.store import RunStore, assemble


def killed_run(root: Path) -> tuple[RunStore, list[str]]:
    cells = [c for c in sample_cells() if c.outcome in (Outcome.PASS, Outcome.XFAIL)]
    kind_cells = list({c.cell_id: c for c in cells}.values())
    st = RunStore.create(root, sample_meta(kind_cells, "killed", finished=False))
    ids = list(st.meta.planned_ids)
    done = [c for c in cells if c.cell_id == ids[0]]
    for c in done:
        st.mark_running(c.cell_id, c.repeat, c.started_at)
        st.write_cell(c)
    st.mark_running(ids[1], 1, "2026-01-01T00:00:00+00:00")  # in flight at the kill
    return st, ids


def test_the_cell_in_flight_at_a_kill_is_interrupted_and_the_rest_never_started(
        tmp_path: Path) -> None:
    st, ids = killed_run(tmp_path)
    matrix = assemble(st.run_dir)
    by_id = {c.cell_id: c for c in matrix.cells}
    assert not matrix.complete
    assert by_id[ids[1]].subtype == "interrupted"
    assert all(by_id[i].subtype == "no-result" for i in ids[2:])
    assert "interrupted" in render_text(matrix)
    assert not list((st.run_dir / "running").iterdir())[1:]  # only the cell in flight


def test_junit_of_an_incomplete_run_never_reads_all_clear(tmp_path: Path) -> None:
    st, ids = killed_run(tmp_path)
    root = ET.fromstring(render_junit(assemble(st.run_dir)))
    assert int(root.get("errors", "0")) == len(ids) - 1
    assert root.get("failures") == "0"
    errors = [e.get("message", "") for e in root.iter("error")]
    assert any("interrupted" in m for m in errors) and any("no result" in m for m in errors)


def test_markdown_of_an_incomplete_run_never_says_no_alarms(tmp_path: Path) -> None:
    st, _ = killed_run(tmp_path)
    text = render_markdown(assemble(st.run_dir))
    assert "Incomplete run" in text and "**No alarms.**" not in text
