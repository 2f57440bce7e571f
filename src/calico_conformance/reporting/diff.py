"""Release qualification: what changed between a baseline matrix and a new one.

A cell is *good* when every conclusive repeat passed (PASS, XFAIL, or observed
stable) and *bad* when any failed (FAIL, XPASS, observed unstable) — so a cell
that turned flaky is a regression too. UNKNOWN and PREDICTED say nothing about
the configuration; a cell that is only those on either side is *inconclusive*,
never a regression (our infrastructure is not Calico's fault).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..errors import InputError
from ..model import CellResult, Matrix
from .facts import TIMES, short_fact, visible
from .flake import FlakeClass, FlakeSummary, classify, group_repeats
from .markdown import code, md


class Change(str, Enum):
    REGRESSION = "regression"
    FIXED = "fixed"
    UNCHANGED = "unchanged"
    INCONCLUSIVE = "inconclusive"
    NEW = "new"
    GONE = "gone"


@dataclass(frozen=True)
class CellChange:
    key: str  # the cell id (or "<variant>-<point>" when comparing across Calico versions)
    change: Change
    old: str  # "pass: pass restarts x3, exit 0" or "" when absent
    new: str


@dataclass(frozen=True)
class DiffReport:
    changes: tuple[CellChange, ...]

    def of(self, change: Change) -> list[CellChange]:
        return [c for c in self.changes if c.change is change]

    @property
    def regressions(self) -> list[CellChange]:
        return self.of(Change.REGRESSION)

    @property
    def fixed(self) -> list[CellChange]:
        return self.of(Change.FIXED)


def _describe(results: list[CellResult], summary: FlakeSummary) -> str:
    shown = next((r for r in results if summary.classification is not FlakeClass.PASS
                  and r.outcome.value in ("fail", "xpass")), results[-1])
    text = f"{summary.classification.value}: {shown.outcome.value} {short_fact(shown)}"
    return text + (f" [{summary.label}]" if summary.total > 1 else "")


def _keyed(matrix: Matrix, ignore_calico: bool, which: str) -> dict[str, list[CellResult]]:
    groups = group_repeats(matrix.cells)
    if not ignore_calico:
        return groups
    out: dict[str, list[CellResult]] = {}
    for results in groups.values():
        ax = results[0].axes
        key = f"{ax.variant}-{ax.point}"
        if key in out:
            raise InputError(f"the {which} matrix has {key} for more than one Calico version; "
                             "--across-calico needs one Calico version per matrix")
        out[key] = results
    return out


def diff_matrices(old: Matrix, new: Matrix, *, ignore_calico: bool = False) -> DiffReport:
    """Classify every cell id of either matrix (see the module docstring)."""
    a, b = _keyed(old, ignore_calico, "old"), _keyed(new, ignore_calico, "new")
    changes = []
    for key in [*a, *(k for k in b if k not in a)]:
        if key not in b:
            changes.append(CellChange(key, Change.GONE, _describe(a[key], classify(a[key])), ""))
            continue
        if key not in a:
            changes.append(CellChange(key, Change.NEW, "", _describe(b[key], classify(b[key]))))
            continue
        sa, sb = classify(a[key]), classify(b[key])
        good_a, good_b = sa.classification is FlakeClass.PASS, sb.classification is FlakeClass.PASS
        if FlakeClass.UNKNOWN in (sa.classification, sb.classification):
            change = Change.INCONCLUSIVE
        elif good_a and not good_b:
            change = Change.REGRESSION
        elif good_b and not good_a:
            change = Change.FIXED
        else:
            change = Change.UNCHANGED
        changes.append(CellChange(key, change, _describe(a[key], sa), _describe(b[key], sb)))
    return DiffReport(tuple(changes))


_ORDER = (Change.REGRESSION, Change.FIXED, Change.NEW, Change.GONE, Change.INCONCLUSIVE,
          Change.UNCHANGED)
_HEAD = ("cell", "before", "after", "change")
MAX_TEXT = 48


def _rows(report: DiffReport) -> list[CellChange]:
    return [c for change in _ORDER for c in report.of(change)]


def counts_line(report: DiffReport) -> str:
    """``1 regression, 0 fixed, ..., 2 gone, 1 new``: every class, always, in one line."""
    return ", ".join(f"{len(report.of(c))} {c.value}" for c in Change)


def _clip(text: str) -> str:
    text = visible(text).replace(TIMES, "x").encode("ascii", "replace").decode("ascii")
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "~"


def render_diff_text(report: DiffReport) -> str:
    """A small aligned table (cell, before, after, change) under one line of counts;
    unchanged cells are counted but not listed."""
    lines = [f"baseline diff: {counts_line(report)}"]
    rows = [[_clip(c.key), _clip(c.old or "-"), _clip(c.new or "-"), c.change.value]
            for c in _rows(report) if c.change is not Change.UNCHANGED]
    if rows:
        table = [list(_HEAD), *rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(_HEAD))]
        fmt = [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
               for r in table]
        lines += ["", fmt[0], "-+-".join("-" * w for w in widths), *fmt[1:]]
    return "\n".join(lines) + "\n"


def render_diff_markdown(report: DiffReport) -> str:
    head = "❌ **Regressions found.**" if report.regressions else "✅ No regressions."
    lines = ["## Baseline diff", "", f"{head} {md(counts_line(report))}", ""]
    rows = [c for c in _rows(report) if c.change is not Change.UNCHANGED]
    if rows:
        lines += ["| cell | before | after | change |", "|---|---|---|---|"]
        lines += [f"| {code(c.key)} | {md(c.old) or '-'} | {md(c.new) or '-'} | "
                  f"{c.change.value} |" for c in rows]
    return "\n".join(lines) + "\n"
