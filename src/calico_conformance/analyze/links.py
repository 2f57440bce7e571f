"""Which variants produce what a paste shows: from stored observations, never from code.

A stored run (``docs/observed/<table>/matrix.json``: the node tier on cgroup v1 Docker
nodes, on cgroup v2 virtual machines, or any run a user keeps there) is a set of observed
cells. Each cell's evidence goes through the same :func:`~..signatures.match` as the paste;
a variant is linked to the paste when one of its observed cells shows the same verdict and
shares a signature (or, when the paste matches none, the same verdict and subtype). Every
link says where it was observed: tier, containerd version, cgroup version and the table.
An expectation in ``clusters/`` is a hypothesis and links nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..model import CellResult, Tier, Verdict
from ..reporting import load_matrix
from ..signatures import Match, match

MAX_TABLES = 50  # a folder of stored runs, not a reports tree


@dataclass(frozen=True)
class Observed:
    """One observed cell, reduced to what a link needs."""

    variant: str
    verdict: Verdict
    subtype: str
    signatures: frozenset[str]
    where: str  # "node tier, cgroup v2, containerd 1.7.24"
    table: str  # the stored run's folder name


def load_observed(root: Path) -> tuple[list[Observed], str]:
    """Every stored run under ``root``; a note when there are none or one is unreadable."""
    if not root.is_dir():
        return [], f"no stored observations at {root}: no variant is linked"
    out: list[Observed] = []
    bad: list[str] = []
    for path in sorted(root.glob("*/matrix.json"))[:MAX_TABLES]:
        try:
            cells = load_matrix(path).cells
        except InputError as exc:
            bad.append(exc.one_line())
            continue
        out += [_observed(c, path.parent.name) for c in cells
                if c.verdict is not Verdict.UNKNOWN and not c.not_tested]
    return out, (f"stored observations skipped: {'; '.join(bad)}" if bad else "")


def _observed(cell: CellResult, table: str) -> Observed:
    ax = cell.axes
    parts = [f"{Tier(ax.tier).value} tier"]
    parts += [f"cgroup {ax.cgroup}"] if ax.cgroup else []
    parts += [f"containerd {ax.containerd}"] if ax.containerd else []
    ids = frozenset(m.id for m in match(cell.verdict, cell.subtype, cell.evidence))
    return Observed(ax.variant, cell.verdict, cell.subtype, ids, ", ".join(parts), table)


def linked(verdict: Verdict, subtype: str, matches: list[Match],
           observed: list[Observed]) -> list[dict[str, object]]:
    """Variants whose observed cells look like the paste, each with where it was seen."""
    if verdict in (Verdict.STABLE, Verdict.UNKNOWN):
        return []
    ids = {m.id for m in matches}
    hits: dict[str, list[Observed]] = defaultdict(list)
    for o in observed:
        same = o.verdict is verdict and (
            bool(ids & o.signatures) if ids else o.subtype == subtype)
        if same:
            hits[o.variant].append(o)
    out: list[dict[str, object]] = []
    for name, seen in sorted(hits.items()):
        # The same variant seen otherwise (another cgroup version): part of the answer.
        other = [o for o in observed if o.variant == name and o not in seen]
        heads = dict.fromkeys(_head(o) for o in other)
        out.append({"name": name,
                    "observed": f"{_head(seen[0])} on " + "; ".join(_places(seen)),
                    "otherwise": "; ".join(
                        f"{h} on " + "; ".join(_places([o for o in other if _head(o) == h]))
                        for h in heads),
                    "signatures": sorted(ids & set().union(*(o.signatures for o in seen)))})
    return out


def _head(o: Observed) -> str:
    return o.verdict.value + (f" ({o.subtype})" if o.subtype else "")


def _places(seen: list[Observed]) -> list[str]:
    """``node tier, cgroup v2: containerd 1.6.20, 1.7.24 [v2-node-table]``, one per table."""
    by: dict[tuple[str, str], list[str]] = defaultdict(list)
    for o in seen:
        head, sep, version = o.where.rpartition(", containerd ")
        key = (head if sep else o.where, o.table)
        if sep and version not in by[key]:
            by[key].append(version)
    return [where + (f", containerd {', '.join(sorted(v))}" if v else "") + f" [{table}]"
            for (where, table), v in by.items()]
