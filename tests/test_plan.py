"""`pytest --plan` output: per-cell artifacts and a summary that sets lint beside expectation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tests.golden import check_golden

from calico_conformance.catalog import Catalog
from calico_conformance.cells import Cell
from calico_conformance.datafile import parse_toml
from calico_conformance.lint import lint_cell
from calico_conformance.model import Finding, from_dict
from calico_conformance.plan import agreement, predicted_verdict, write_plan


@pytest.fixture
def default_cells(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Cell, ...]:
    # Relative paths, so findings (and goldens) name clusters/containerd/<variant>.toml.
    monkeypatch.chdir(repo_root)
    return Catalog(Path("clusters")).profile("default").cells


def name(cell: Cell) -> str:
    return f"cc-{cell.variant.name}"


def test_every_cell_gets_its_kind_config_effective_config_and_lint(default_cells, tmp_path):
    write_plan(default_cells, tmp_path, cluster_name=name)
    for cell in default_cells:
        d = tmp_path / cell.id
        cfg = yaml.safe_load((d / "kind-config.yaml").read_text())
        assert cfg["name"] == name(cell)
        assert parse_toml((d / "containerd-config.toml").read_text()) == cell.effective.data
        findings = [from_dict(Finding, f) for f in json.loads((d / "lint.json").read_text())]
        assert tuple(findings) == lint_cell(cell)
        assert (d / "lint.txt").read_text().strip()


def test_the_summary_counts_match_the_cells(default_cells, tmp_path):
    summary = write_plan(default_cells, tmp_path / "plan", cluster_name=name)
    assert summary.path == tmp_path / "plan" and summary.cells == len(default_cells)
    assert summary.agree + summary.disagree + summary.no_expectation == summary.cells
    data = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert data["counts"]["cells"] == summary.cells
    assert [r["cell"] for r in data["cells"]] == [c.id for c in default_cells]


def test_each_rule_names_the_cells_it_predicts_will_fail(default_cells, tmp_path):
    write_plan(default_cells, tmp_path, cluster_name=name)
    rules = {r["code"]: r for r in json.loads((tmp_path / "summary.json").read_text())["rules"]}
    expected_failing: dict[str, set[str]] = {}
    for cell in default_cells:
        for f in lint_cell(cell):
            assert cell.id in rules[f.code]["fired"]
            if f.severity == "error" and f.predicted not in ("", "stable"):
                expected_failing.setdefault(f.code, set()).add(cell.id)
    assert {code: set(r["predicts_failure"]) for code, r in rules.items()
            if r["predicts_failure"]} == expected_failing
    assert expected_failing  # the shipped variants do include known-bad ones


def test_the_plan_summary_matches_its_goldens(default_cells, tmp_path, update_goldens):
    write_plan(default_cells, tmp_path, cluster_name=name)
    check_golden("plan/summary.md", (tmp_path / "summary.md").read_text(), update_goldens)
    check_golden("plan/summary.json", (tmp_path / "summary.json").read_text(), update_goldens)
    report = next(c for c in default_cells if c.variant.name == "report-9524")
    check_golden("plan/report-9524.lint.txt", (tmp_path / report.id / "lint.txt").read_text(),
                 update_goldens)


def test_the_lint_agrees_with_every_shipped_variants_expectation(default_cells):
    disagreements = [
        (cell.id, cell.expected, predicted_verdict(lint_cell(cell)))
        for cell in default_cells
        if agreement(cell.expected, predicted_verdict(lint_cell(cell))) == "disagree"
    ]
    assert disagreements == []


def f(severity: str, predicted: str) -> Finding:
    return Finding(code="CC000", severity=severity, message="m", predicted=predicted)


def test_the_worst_error_prediction_wins_and_warnings_predict_nothing():
    assert predicted_verdict([]) == "stable"
    assert predicted_verdict([f("warning", "cluster-fails")]) == "stable"
    assert predicted_verdict([f("error", "restarts"), f("error", "cluster-fails")]) == \
        "cluster-fails"
    assert predicted_verdict([f("error", "restarts")]) == "restarts"


def test_agreement_needs_an_expectation():
    assert agreement("", "restarts") == "no-expectation"
    assert agreement("restarts", "restarts") == "agree"
    assert agreement("stable", "restarts") == "disagree"
