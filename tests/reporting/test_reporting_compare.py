"""Flake classification, baseline diff and merging shard run directories."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from reporting_sample import sample_cells, sample_matrix, sample_meta

from calico_conformance.errors import InputError
from calico_conformance.model import CellResult, Matrix, Outcome, Verdict
from calico_conformance.reporting import render_html, render_markdown
from calico_conformance.reporting.diff import (
    Change,
    diff_matrices,
    render_diff_markdown,
    render_diff_text,
)
from calico_conformance.reporting.flake import FlakeClass, classify
from calico_conformance.reporting.merge import merge_runs
from calico_conformance.reporting.store import RunStore, assemble


def one(cells: list[CellResult], cell_id: str, repeat: int = 1) -> CellResult:
    return next(c for c in cells if c.cell_id == cell_id and c.repeat == repeat)


def repeats(outcomes: list[Outcome], verdict: Verdict = Verdict.STABLE) -> list[CellResult]:
    base = one(sample_cells(), "v3.28.2-baseline-k8s1.28")
    return [dataclasses.replace(base, repeat=i + 1, outcome=o, verdict=verdict)
            for i, o in enumerate(outcomes)]


# --- flake -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("outcomes", "cls", "passed", "failed"), [
    ([Outcome.PASS] * 3, FlakeClass.PASS, 3, 0),
    ([Outcome.FAIL] * 3, FlakeClass.FAIL, 0, 3),
    ([Outcome.PASS, Outcome.FAIL, Outcome.PASS], FlakeClass.FLAKY, 2, 1),
    ([Outcome.XFAIL, Outcome.XPASS], FlakeClass.FLAKY, 1, 1),
    ([Outcome.UNKNOWN, Outcome.UNKNOWN], FlakeClass.UNKNOWN, 0, 0),
])
def test_repeats_are_classified_with_testgrid_semantics(
        outcomes: list[Outcome], cls: FlakeClass, passed: int, failed: int) -> None:
    summary = classify(repeats(outcomes))
    assert (summary.classification, summary.passed, summary.failed) == (cls, passed, failed)
    assert summary.total == len(outcomes)


def test_an_unknown_repeat_counts_neither_way() -> None:
    summary = classify(repeats([Outcome.PASS, Outcome.UNKNOWN, Outcome.PASS]))
    assert summary.classification is FlakeClass.PASS and summary.unknown == 1
    assert summary.label == "pass 2/2"


def test_classifying_results_of_different_cells_is_refused() -> None:
    cells = sample_cells()
    with pytest.raises(ValueError, match="several cells"):
        classify([cells[0], cells[-1]])


def test_a_flaky_cell_shows_its_counts_in_markdown_and_html() -> None:
    matrix = sample_matrix()
    assert "flaky 1/3" in render_markdown(matrix)
    assert "flaky 1/3" in render_html(matrix)


# --- diff --------------------------------------------------------------------------------------

def with_cells(matrix: Matrix, cells: list[CellResult]) -> Matrix:
    return dataclasses.replace(matrix, cells=tuple(cells))


def test_a_passing_cell_that_now_fails_is_a_regression() -> None:
    old = sample_matrix()
    cells = list(old.cells)
    i = next(i for i, c in enumerate(cells) if c.cell_id == "v3.28.2-baseline-k8s1.28")
    cells[i] = dataclasses.replace(cells[i], verdict=Verdict.RESTARTS, outcome=Outcome.FAIL)
    report = diff_matrices(old, with_cells(old, cells))
    assert [c.key for c in report.regressions] == ["v3.28.2-baseline-k8s1.28"]
    assert "| regression" in render_diff_text(report)
    assert "Regressions found" in render_diff_markdown(report)


def test_an_expected_failure_that_turns_stable_is_a_regression_xpass() -> None:
    old = sample_matrix()
    cells = [dataclasses.replace(c, verdict=Verdict.STABLE, outcome=Outcome.XPASS)
             if c.cell_id == "v3.26.4-systemd-cgroup-off-k8s1.28" else c for c in old.cells]
    report = diff_matrices(old, with_cells(old, cells))
    assert [c.key for c in report.regressions] == ["v3.26.4-systemd-cgroup-off-k8s1.28"]


def test_a_failing_cell_that_now_passes_is_fixed_and_not_a_regression() -> None:
    old = sample_matrix()
    cells = [dataclasses.replace(c, verdict=Verdict.STABLE, outcome=Outcome.PASS)
             if c.cell_id == "v3.28.2-baseline-k8s1.31" else c for c in old.cells]
    report = diff_matrices(old, with_cells(old, cells))
    assert [c.key for c in report.fixed] == ["v3.28.2-baseline-k8s1.31"]
    assert report.regressions == []


def test_a_cell_that_turns_flaky_is_a_regression() -> None:
    old = sample_matrix()
    extra = dataclasses.replace(one(list(old.cells), "v3.28.2-baseline-k8s1.28"), repeat=2,
                                verdict=Verdict.RESTARTS, outcome=Outcome.FAIL)
    report = diff_matrices(old, with_cells(old, [*old.cells, extra]))
    assert [c.key for c in report.regressions] == ["v3.28.2-baseline-k8s1.28"]


def test_infrastructure_trouble_is_inconclusive_never_a_regression() -> None:
    old = sample_matrix()
    cells = [dataclasses.replace(c, verdict=Verdict.UNKNOWN, outcome=Outcome.UNKNOWN)
             if c.cell_id == "v3.28.2-baseline-k8s1.28" else c for c in old.cells]
    report = diff_matrices(old, with_cells(old, cells))
    assert report.regressions == []
    # the predicted cell never ran, so it is inconclusive too
    assert {c.key for c in report.of(Change.INCONCLUSIVE)} == {
        "v3.28.2-baseline-k8s1.28", "v3.28.2-undefined-default-runtime-k8s1.28",
        "v3.28.2-systemd-cgroup-off-k8s1.31"}


def test_cells_only_on_one_side_are_new_or_gone_and_the_rest_unchanged() -> None:
    old = sample_matrix()
    new = with_cells(old, [c for c in old.cells if c.axes.variant != "cri-disabled"])
    report = diff_matrices(old, new)
    assert {c.key for c in report.of(Change.GONE)} == {"v3.26.4-cri-disabled-k8s1.28",
                                                      "probe-cri-disabled-v0.24.0"}
    back = diff_matrices(new, old)
    assert {c.key for c in back.of(Change.NEW)} == {c.key for c in report.of(Change.GONE)}
    same = diff_matrices(old, old)
    assert {c.change for c in same.changes} <= {Change.UNCHANGED, Change.INCONCLUSIVE}


def test_across_calico_matching_compares_a_new_release_with_the_old_one() -> None:
    m = sample_matrix()
    only = [c for c in m.cells if c.axes.calico in ("v3.28.2",) and c.axes.point == "k8s1.28"]
    old = with_cells(m, only)
    new = with_cells(m, [dataclasses.replace(c, cell_id=c.cell_id.replace("v3.28.2", "v3.29.0"),
                                             axes=dataclasses.replace(c.axes, calico="v3.29.0"))
                         for c in only])
    assert {c.change for c in diff_matrices(old, new).changes} == {Change.GONE, Change.NEW}
    matched = diff_matrices(old, new, ignore_calico=True)
    assert Change.NEW not in {c.change for c in matched.changes}
    with pytest.raises(InputError, match="more than one Calico version"):
        diff_matrices(m, m, ignore_calico=True)


# --- merge -------------------------------------------------------------------------------------

def shard(root: Path, run_id: str, cells: list[CellResult]) -> Path:
    st = RunStore.create(root, sample_meta(sample_cells(), run_id))
    for c in cells:
        st.write_cell(c)
    return st.run_dir


def test_merging_two_shards_gives_the_whole_matrix(tmp_path: Path) -> None:
    cells = sample_cells()
    a = shard(tmp_path, "a", cells[:7])
    b = shard(tmp_path, "b", cells[7:])
    assert not assemble(a).complete and not assemble(b).complete
    meta, merged, matrix = merge_runs([a, b])
    assert matrix.complete and meta.run_id == "a+b"
    assert len(merged) == len(cells)


def test_identical_duplicates_are_merged_once(tmp_path: Path) -> None:
    cells = sample_cells()
    a = shard(tmp_path, "a", cells)
    b = shard(tmp_path, "b", cells[:3])
    _, merged, _ = merge_runs([a, b])
    assert len(merged) == len(cells)


def test_conflicting_duplicates_are_refused_naming_both_files(tmp_path: Path) -> None:
    cells = sample_cells()
    flipped = dataclasses.replace(cells[0], verdict=Verdict.RESTARTS, outcome=Outcome.FAIL)
    a = shard(tmp_path, "a", cells)
    b = shard(tmp_path, "b", [flipped])
    with pytest.raises(InputError) as err:
        merge_runs([a, b])
    msg = err.value.one_line()
    assert str(a / "cells") in msg and str(b / "cells") in msg and cells[0].cell_id in msg


def test_merging_runs_that_installed_different_manifests_is_refused(tmp_path: Path) -> None:
    a = shard(tmp_path, "a", [])
    st = RunStore.create(tmp_path, dataclasses.replace(
        sample_meta(sample_cells(), "b"), calico_sha256={"v3.26.4": "f" * 64}))
    with pytest.raises(InputError, match="sha256 differs"):
        merge_runs([a, st.run_dir])
