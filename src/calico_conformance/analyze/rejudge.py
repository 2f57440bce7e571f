"""Re-judge a stored run with other thresholds: ``report RUN_DIR --rejudge``.

The verdict is a pure function of a cell's ``observations.jsonl`` (see
:mod:`calico_conformance.observe`), so new thresholds need no cluster: every kind cell
whose log is stored is judged again by :func:`calico_conformance.verdict.judge` over the
same watched window; probe cells, predicted cells and cells without a log keep their
result, and the report says which is which.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from ..datafile import regular_file
from ..errors import InputError
from ..model import CellResult, Matrix, Outcome, Tier, Verdict
from ..observe import read_jsonl
from ..reporting.store import CELLS_DIR, assemble
from ..reporting.stored import no_link
from ..tracker import Thresholds
from ..verdict import judge, outcome

LOG = "observations.jsonl"
# What the session uses when no --ready-grace is given: 5 min, capped at half the soak.
DEFAULT_GRACE_S = 300.0


@dataclass(frozen=True)
class Change:
    cell_id: str
    repeat: int
    old: str
    new: str


def log_path(run_dir: Path, cell: CellResult) -> Path:
    suffix = f"~r{cell.repeat}" if cell.repeat > 1 else ""
    return run_dir / CELLS_DIR / (cell.cell_id + suffix) / LOG


def _label(verdict: Verdict, subtype: str) -> str:
    return verdict.value + (f" ({subtype})" if subtype else "")


def rejudge_cell(run_dir: Path, cell: CellResult, th: Thresholds) -> CellResult | None:
    """The cell judged again from its stored log, or None when it has none to judge."""
    if cell.axes.tier is not Tier.KIND or cell.outcome is Outcome.PREDICTED:
        return None
    path = log_path(run_dir, cell)
    no_link(path, run_dir)
    if not path.is_file():
        return None
    regular_file(path)  # a FIFO or a device in a run folder is not a log
    try:
        obs = read_jsonl(path)
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        raise InputError(f"not a valid observation log: {exc}", path=path) from exc
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from exc
    watched = cell.evidence.watched_s or None
    verdict, subtype, evidence = judge(obs, th, watched)
    notes = (*evidence.notes, f"re-judged from {LOG} with {describe(th)}")
    return dataclasses.replace(
        cell, verdict=verdict, subtype=subtype, outcome=outcome(cell.expected, verdict),
        evidence=dataclasses.replace(evidence, error=evidence.error or cell.evidence.error,
                                     notes=notes))


def describe(th: Thresholds) -> str:
    return (f"max restarts {th.min_restarts - 1}, ready grace {th.ready_grace_s:.0f}s, "
            f"init re-runs {th.min_init_reruns}")


def rejudge(run_dir: Path, th: Thresholds | None = None, grace_given: bool = False
            ) -> tuple[Matrix, list[Change], list[str], Thresholds]:
    """The run's matrix with every judgeable cell re-judged; what changed; what was kept."""
    matrix = assemble(run_dir)
    soak = matrix.run.soak_s
    base = th or Thresholds()
    if not grace_given and soak:
        base = dataclasses.replace(base, ready_grace_s=min(DEFAULT_GRACE_S, soak / 2))
    cells, changes, kept = [], [], []
    for cell in matrix.cells:
        new = rejudge_cell(run_dir, cell, base)
        if new is None:
            if cell.subtype != "no-result":
                kept.append(f"{cell.cell_id}: kept ({cell.axes.tier.value} cell without "
                            f"{LOG})")
            cells.append(cell)
            continue
        old_l, new_l = _label(cell.verdict, cell.subtype), _label(new.verdict, new.subtype)
        if old_l != new_l:
            changes.append(Change(cell.cell_id, cell.repeat, old_l, new_l))
        cells.append(new)
    return dataclasses.replace(matrix, cells=tuple(cells)), changes, kept, base


def changes_text(changes: list[Change], kept: list[str], th_text: str) -> str:
    lines = [f"re-judged with {th_text}:"]
    lines += [f"  {c.cell_id}{'' if c.repeat <= 1 else f' (repeat {c.repeat})'}: "
              f"{c.old} -> {c.new}" for c in changes] or ["  no verdict changed"]
    lines += [f"  {k}" for k in kept]
    return "\n".join(lines) + "\n"


def changes_json(changes: list[Change]) -> str:
    return json.dumps([dataclasses.asdict(c) for c in changes], indent=2) + "\n"
