"""The one place a :class:`~.model.CellResult` is built from a cell declaration.

Every tier hands over what it observed; the cell declaration supplies the rest (id,
axes, expectation, the variant's description and references), so no tier spells them
again and the outcome is always derived by the same rule.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Protocol

from .cells import Variant
from .model import Axes, CellResult, ConfigCheck, Evidence, Finding, Outcome, Verdict
from .redact import redact_text
from .verdict import outcome as outcome_of


class Declared(Protocol):
    """What every tier's cell declaration offers (kind ``Cell``, ``ProbeCell``, ...)."""

    @property
    def id(self) -> str: ...
    @property
    def expected(self) -> str: ...
    @property
    def untested_upstream(self) -> bool: ...
    @property
    def variant(self) -> Variant: ...
    def axes(self) -> Axes: ...


def build_result(cell: Declared, verdict: Verdict, *, subtype: str = "",
                 evidence: Evidence | None = None, config_check: ConfigCheck | None = None,
                 findings: tuple[Finding, ...] = (), artifacts: str = "", started_at: str = "",
                 finished_at: str = "", repeat: int = 1, outcome: Outcome | None = None,
                 not_tested: str = "") -> CellResult:
    """``outcome`` is derived from the verdict and the expectation unless given (only a
    prediction, which was not observed, says otherwise). ``not_tested`` says why the
    verdict is no statement about the variant: such a cell is never a pass or a fail."""
    if outcome is None:
        outcome = outcome_of(cell.expected, verdict)
        if not_tested:  # our trouble included: a VM that did not boot tested nothing
            outcome = Outcome.NOT_TESTED
    ev = evidence or Evidence()
    # containerd logs its whole config (registry auth included) and errors quote it.
    ev = replace(ev, error=redact_text(ev.error), probe_message=redact_text(ev.probe_message),
                 notes=tuple(redact_text(n) for n in ev.notes))
    return CellResult(
        cell_id=cell.id, axes=cell.axes(), expected=cell.expected, verdict=verdict,
        subtype=subtype, outcome=outcome, not_tested=not_tested,
        untested_upstream=cell.untested_upstream, evidence=ev,
        config_check=config_check or ConfigCheck(), findings=findings, artifacts=artifacts,
        started_at=started_at, finished_at=finished_at, repeat=repeat,
        references=cell.variant.references, fix=cell.variant.fix,
        description=cell.variant.description)
