"""Repeat classification with TestGrid semantics: pass, fail or flaky.

``--repeat N`` runs a cell N times; each run is a :class:`CellResult` with the same
``cell_id`` and ``repeat`` 1..N. TestGrid calls a test *flaky* when the same code
both passed and failed (kubernetes/test-infra, testgrid "flaky" column), so we do
the same per cell. A repeat *passes* when it matched its expectation (PASS,
XFAIL, or an OBSERVED stable verdict); UNKNOWN is our infrastructure and PREDICTED
never ran, so neither counts either way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from ..model import CellResult, Outcome, Verdict


class FlakeClass(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    FLAKY = "flaky"
    UNKNOWN = "unknown"  # no repeat told us anything about the configuration


@dataclass(frozen=True)
class FlakeSummary:
    cell_id: str
    classification: FlakeClass
    passed: int
    failed: int
    unknown: int
    total: int

    @property
    def counted(self) -> int:
        return self.passed + self.failed

    @property
    def label(self) -> str:
        """``flaky 2/3`` reads as: 2 of 3 conclusive repeats passed."""
        if self.classification is FlakeClass.UNKNOWN:
            return f"unknown 0/{self.total}"
        return f"{self.classification.value} {self.passed}/{self.counted}"


def repeat_status(result: CellResult) -> bool | None:
    """True = this repeat passed, False = failed, None = says nothing about the config."""
    if result.outcome in (Outcome.PASS, Outcome.XFAIL):
        return True
    if result.outcome in (Outcome.FAIL, Outcome.XPASS):
        return False
    if result.outcome is Outcome.OBSERVED:
        return result.verdict is Verdict.STABLE
    return None


def classify(results: Sequence[CellResult]) -> FlakeSummary:
    """Classify the repeats of one cell."""
    if not results:
        raise ValueError("classify() needs at least one result")
    ids = {r.cell_id for r in results}
    if len(ids) != 1:
        raise ValueError(f"classify() got results of several cells: {sorted(ids)}")
    statuses = [repeat_status(r) for r in results]
    passed = sum(1 for s in statuses if s is True)
    failed = sum(1 for s in statuses if s is False)
    unknown = sum(1 for s in statuses if s is None)
    if passed and failed:
        cls = FlakeClass.FLAKY
    elif passed:
        cls = FlakeClass.PASS
    elif failed:
        cls = FlakeClass.FAIL
    else:
        cls = FlakeClass.UNKNOWN
    return FlakeSummary(results[0].cell_id, cls, passed, failed, unknown, len(results))


def group_repeats(cells: Iterable[CellResult]) -> dict[str, list[CellResult]]:
    """Cells by id, first-seen order kept, each list sorted by repeat number."""
    groups: dict[str, list[CellResult]] = {}
    for cell in cells:
        groups.setdefault(cell.cell_id, []).append(cell)
    for group in groups.values():
        group.sort(key=lambda c: c.repeat)
    return groups
