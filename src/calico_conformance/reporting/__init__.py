"""Compatibility-matrix reports: the run store and every rendered format.

The plugin writes cells through :class:`RunStore` as they finish and calls
:meth:`RunStore.finish`; the CLI re-renders, diffs and merges stored runs offline.
"""

from __future__ import annotations

from .diff import (
    CellChange,
    Change,
    DiffReport,
    diff_matrices,
    render_diff_markdown,
    render_diff_text,
)
from .flake import FlakeClass, FlakeSummary, classify
from .html import render_html
from .junit import render_junit
from .markdown import render_markdown
from .merge import merge_runs
from .store import RunStore, assemble, load_matrix, update_latest, write_all
from .text import render_text

__all__ = [
    "CellChange", "Change", "DiffReport", "FlakeClass", "FlakeSummary", "RunStore",
    "assemble", "classify", "diff_matrices", "load_matrix", "merge_runs",
    "render_diff_markdown", "render_diff_text", "render_html", "render_junit",
    "render_markdown", "render_text", "update_latest", "write_all",
]
