"""``pytest --plan``: everything a run would do, written out, with no cluster.

Per cell: the kind config it would create, the containerd config its nodes would run,
and what the lint predicts. The summary sets each prediction beside the variant's own
expectation, so a disagreement is visible before anyone spends ten minutes of soak on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .kind.config import dump_kind_config, render_kind_config
from .lint import format_json, format_text, lint_cell
from .model import Finding, Verdict
from .redact import redact_config, redact_kind_config
from .reporting.text import plural

PLAN_SCHEMA_VERSION = 1  # the plan's own JSON (not matrix.json's)

if TYPE_CHECKING:
    from .cells import Cell

# Which predicted verdict wins when several error findings fire on one cell.
_WORST = (Verdict.CLUSTER_FAILS, Verdict.NOT_STARTED, Verdict.NEVER_READY, Verdict.FLAPPING,
          Verdict.RESTARTS)


@dataclass(frozen=True)
class PlanSummary:
    path: Path  # the plan directory
    cells: int
    errors: int
    warnings: int
    predicted_failures: int  # cells the lint predicts will not be stable
    agree: int
    disagree: int
    no_expectation: int
    not_tested: int = 0  # cells whose variant kind would skip: they would test kind's config


def predicted_verdict(findings: Sequence[Finding]) -> str:
    """The verdict the lint predicts: the worst one an error finding names, else stable."""
    named = {f.predicted for f in findings if f.severity == "error" and f.predicted}
    for verdict in _WORST:
        if verdict.value in named:
            return verdict.value
    return sorted(named)[0] if named else Verdict.STABLE.value


def agreement(expected: str, predicted: str) -> str:
    if not expected:
        return "no-expectation"
    return "agree" if expected == predicted else "disagree"


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write plan: {exc.strerror}", path=path) from exc


def write_plan(cells: Sequence[Cell], out_dir: Path, *,
               cluster_name: Callable[[Cell], str]) -> PlanSummary:
    """Write ``out_dir/<cell-id>/`` for every cell plus ``summary.md``/``summary.json``."""
    rows: list[dict[str, Any]] = []
    rules: dict[str, dict[str, Any]] = {}
    for cell in cells:
        cell_dir = out_dir / cell.id
        try:
            cell_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create plan directory: {exc.strerror}",
                             path=cell_dir) from exc
        findings = lint_cell(cell)
        # A plan is for reading and sharing: credentials are redacted.
        _write(cell_dir / "kind-config.yaml",
               dump_kind_config(redact_kind_config(render_kind_config(cell, cluster_name(cell)))))
        _write(cell_dir / "containerd-config.toml", redact_config(cell.effective.text))
        _write(cell_dir / "lint.json", format_json(findings))
        _write(cell_dir / "lint.txt", format_text(findings) or "no findings\n")
        predicted = predicted_verdict(findings)
        untested = cell.target.skipped_by_kind()
        if untested:
            _write(cell_dir / "NOT-TESTED.txt", f"not tested: {untested}\n")
        rows.append({
            "cell": cell.id, "calico": cell.calico.version, "variant": cell.variant.name,
            "point": cell.point.id, "expected": cell.expected, "predicted": predicted,
            "agreement": agreement(cell.expected, predicted),
            "codes": sorted({f.code for f in findings}),
            "errors": sum(f.severity == "error" for f in findings),
            "warnings": sum(f.severity == "warning" for f in findings),
            "not_tested": untested,
        })
        for f in findings:
            rule = rules.setdefault(f.code, {"code": f.code, "severities": set(),
                                             "fired": [], "predicts_failure": []})
            rule["severities"].add(f.severity)
            if cell.id not in rule["fired"]:
                rule["fired"].append(cell.id)
            failing = f.severity == "error" and f.predicted and f.predicted != "stable"
            if failing and cell.id not in rule["predicts_failure"]:
                rule["predicts_failure"].append(cell.id)
    summary = PlanSummary(
        path=out_dir, cells=len(rows),
        errors=sum(r["errors"] for r in rows), warnings=sum(r["warnings"] for r in rows),
        predicted_failures=sum(r["predicted"] != "stable" for r in rows),
        agree=sum(r["agreement"] == "agree" for r in rows),
        disagree=sum(r["agreement"] == "disagree" for r in rows),
        no_expectation=sum(r["agreement"] == "no-expectation" for r in rows),
        not_tested=sum(bool(r["not_tested"]) for r in rows))
    rule_rows = [{"code": r["code"],
                  "severities": sorted(r["severities"], key=["error", "warning", "info"].index),
                  "fired": r["fired"], "predicts_failure": r["predicts_failure"]}
                 for r in sorted(rules.values(), key=lambda r: str(r["code"]))]
    out_dir.mkdir(parents=True, exist_ok=True)
    _write(out_dir / "summary.json", json.dumps({
        "schema_version": PLAN_SCHEMA_VERSION,
        "counts": {k: v for k, v in vars(summary).items() if k != "path"},
        "cells": rows, "rules": rule_rows}, indent=2) + "\n")
    _write(out_dir / "summary.md", _markdown(summary, rows, rule_rows))
    return summary


def _markdown(summary: PlanSummary, rows: list[dict[str, Any]],
              rules: list[dict[str, Any]]) -> str:
    out = ["# Plan: what the lint predicts, before any cluster", "",
           f"{plural(summary.cells, 'cell')}; lint predicts {summary.predicted_failures} "
           f"will not be stable. Against the variants' expectations: {summary.agree} agree, "
           f"{summary.disagree} disagree, {summary.no_expectation} declare none."
           + (f" **{plural(summary.not_tested, 'cell')} would not be tested**: kind would "
              f"skip the variant's patch (see NOT-TESTED.txt)." if summary.not_tested else ""),
           "",
           "## Cells", "",
           "| cell | expected | predicted by lint | agreement | findings |",
           "| --- | --- | --- | --- | --- |"]
    for r in rows:
        out.append(f"| `{r['cell']}` | {r['expected'] or '—'} | {r['predicted']} | "
                   f"{r['agreement']} | {', '.join(r['codes']) or '—'} |")
    out += ["", "## Rules", "", "| rule | severity | cells it predicts will fail |",
            "| --- | --- | --- |"]
    for r in rules:
        failing = ", ".join(f"`{c}`" for c in r["predicts_failure"]) or \
            f"— (fired in {plural(len(r['fired']), 'cell')}, no failure predicted)"
        out.append(f"| {r['code']} | {'/'.join(r['severities'])} | {failing} |")
    return "\n".join(out) + "\n"
