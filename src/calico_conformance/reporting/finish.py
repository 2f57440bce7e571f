"""What the end of a run hands on: regressions against a baseline, and the CI step summary."""

from __future__ import annotations

import os
from pathlib import Path

from ..model import Matrix
from .diff import diff_matrices, render_diff_text
from .markdown import render_markdown
from .store import load_matrix


def against_baseline(baseline: Path, matrix: Matrix) -> tuple[list[str], str]:
    """The regressions (one line each) and the diff as text."""
    report = diff_matrices(load_matrix(baseline), matrix)
    return [f"{c.key}: {c.old} -> {c.new}" for c in report.regressions], render_diff_text(report)


def append_step_summary(matrix: Matrix) -> str:
    """GitHub Actions shows ``$GITHUB_STEP_SUMMARY`` on the run's page; "" or the problem."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return ""
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(render_markdown(matrix) + "\n")
    except OSError as exc:
        return f"GITHUB_STEP_SUMMARY {path}: {exc.strerror}"
    return ""
