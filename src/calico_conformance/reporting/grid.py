"""The matrix laid out as a grid: containerd variants by (Calico version, point).

Probe-tier cells have no Calico version; they get a column per containerd version
that produced them, after the kind columns. All renderers share this layout so a
cell sits in the same place in Markdown, HTML and the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import CellResult, Matrix, Tier
from ..versions import parse_version
from . import facts
from .flake import FlakeClass, FlakeSummary, classify, group_repeats, repeat_status


@dataclass(frozen=True)
class Column:
    key: tuple[str, ...]
    label: str
    tier: Tier
    calico: str = ""
    point: str = ""
    kubernetes: str = ""
    containerd: str = ""
    backend: str = ""
    cgroup: str = ""

    @property
    def detail(self) -> str:
        """Kubernetes/containerd of a kind column, for a second header line."""
        if self.tier is Tier.PROBE:
            return "containerd only, no cluster"
        if self.tier is Tier.NODE:
            where = ", ".join(x for x in (
                f"{self.backend} node" if self.backend else "",
                f"cgroup {self.cgroup}" if self.cgroup else "") if x)
            return (f"kind-style node ({self.point.removeprefix('node-')}"
                    + (f"; {where}" if where else "") + "), emulated kubelet")
        parts = [f"k8s {self.kubernetes}" if self.kubernetes else "",
                 f"containerd {self.containerd}" if self.containerd else ""]
        return " / ".join(p for p in parts if p)


@dataclass(frozen=True)
class GridCell:
    results: tuple[CellResult, ...]  # the repeats, by repeat number
    flake: FlakeSummary | None  # only when there is more than one repeat

    @property
    def cell(self) -> CellResult:
        """The repeat to show: the first failing one, else the last."""
        for r in self.results:
            if repeat_status(r) is False:
                return r
        return self.results[-1]

    @property
    def status(self) -> str:
        if self.flake is not None and self.flake.classification is FlakeClass.FLAKY:
            return facts.FLAKY
        return facts.status(self.cell)

    def fact(self, *, ascii_only: bool = False) -> str:
        text = facts.short_fact(self.cell, ascii_only=ascii_only)
        if self.flake is not None and self.flake.total > 1:
            text = f"{self.flake.label}; {text}" if self.status == facts.FLAKY else \
                f"{text} ({self.flake.label})"
        return text

    @property
    def untested(self) -> bool:
        return self.cell.untested_upstream


@dataclass
class Grid:
    rows: list[str] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    cells: dict[tuple[str, tuple[str, ...]], GridCell] = field(default_factory=dict)

    def at(self, row: str, col: Column) -> GridCell | None:
        return self.cells.get((row, col.key))

    def used_statuses(self) -> list[str]:
        used = {gc.status for gc in self.cells.values()}
        return [s for s in facts.STATUS_ORDER if s in used]

    @property
    def any_untested(self) -> bool:
        return any(gc.untested for gc in self.cells.values())


def _column(cell: CellResult) -> Column:
    ax = cell.axes
    if ax.tier in (Tier.PROBE, Tier.NODE):
        return Column((ax.tier.value, ax.containerd, ax.point), facts.column_label(cell),
                      ax.tier, point=ax.point, containerd=ax.containerd, backend=ax.backend,
                      cgroup=ax.cgroup)
    return Column(("kind", ax.calico, ax.point), facts.column_label(cell), Tier.KIND,
                  calico=ax.calico, point=ax.point, kubernetes=ax.kubernetes,
                  containerd=ax.containerd)


def _version_key(text: str) -> tuple[int, ...]:
    return parse_version(text) or ()  # unparsable sorts first, then by name


def build_grid(matrix: Matrix) -> Grid:
    grid = Grid()
    seen_points: dict[str, int] = {}
    columns: dict[tuple[str, ...], Column] = {}
    for results in group_repeats(matrix.cells).values():
        first = results[0]
        col = columns.setdefault(_column(first).key, _column(first))
        seen_points.setdefault(first.axes.point, len(seen_points))
        if first.axes.variant not in grid.rows:
            grid.rows.append(first.axes.variant)
        flake = classify(results) if len(results) > 1 else None
        grid.cells[(first.axes.variant, col.key)] = GridCell(tuple(results), flake)
    kind = sorted((c for c in columns.values() if c.tier is Tier.KIND),
                  key=lambda c: (_version_key(c.calico), c.calico, seen_points[c.point]))
    probe = sorted((c for c in columns.values() if c.tier is Tier.PROBE),
                   key=lambda c: (_version_key(c.containerd), c.containerd, c.point))
    node = sorted((c for c in columns.values() if c.tier is Tier.NODE),
                  key=lambda c: (_version_key(c.containerd), c.containerd, c.point))
    labels = [c.label for c in (*probe, *node)]
    grid.columns = kind + [
        Column(c.key, f"{c.label} ({c.point})", c.tier, point=c.point, containerd=c.containerd,
               backend=c.backend, cgroup=c.cgroup)
        if labels.count(c.label) > 1 else c for c in (*probe, *node)]
    return grid
