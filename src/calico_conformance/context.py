"""A run's frozen context and its mutable state, kept apart.

:class:`RunContext` is what the run *is*: its settings, catalog, profile, clock and
start time; it changes once at most, when the run folder is claimed under another id,
and then as a whole (``claimed``). :class:`RunState` is what the run has *found* so far
(the report store, probe results for kind predictions, kept clusters, notes for the
summary); only the session and the tier entries (:mod:`.tiers`) write it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .catalog import Catalog
from .cells import Profile
from .clock import Clock
from .kind.binary import KindTools
from .model import CellResult, Matrix
from .settings import KindSettings, NodeSettings, ProbeSettings, RunSettings

if TYPE_CHECKING:
    from .plan import PlanSummary
    from .reporting.store import RunStore
    from .repro import Repro


@dataclass(frozen=True)
class RunContext:
    run: RunSettings
    kind: KindSettings
    probe: ProbeSettings
    node: NodeSettings
    catalog: Catalog
    profile: Profile
    clock: Clock
    started_at: str
    repro: Repro | None = None  # --repro: a reported bug's scenario

    def claimed(self, run_id: str) -> RunContext:
        """The same run under the id its folder was claimed with."""
        run = replace(self.run, run_id=run_id)
        return replace(self, run=run, probe=replace(
            self.probe, workdir=run.run_dir / "probe",
            keep_logs_dir=run.run_dir / "probe" / "logs"))


@dataclass(eq=False)
class RunState:
    kind_tools: KindTools = field(default_factory=KindTools)
    probe_results: dict[tuple[str, str], CellResult] = field(default_factory=dict)
    kept: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plan_summary: PlanSummary | None = None
    matrix: Matrix | None = None
    store: RunStore | None = None
    run_dir_claimed: bool = False
    image_digests: dict[str, str] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)  # a tier's once-per-run findings
    # What a tier holds across cells (reused nodes), released when the run ends, however it
    # ends; each returns what it could not release.
    closers: list[Callable[[], list[str]]] = field(default_factory=list)

    def close(self) -> list[str]:
        problems: list[str] = []
        while self.closers:
            problems += self.closers.pop()()
        return problems


@dataclass(frozen=True)
class Hooks:
    """What a tier entry may tell the terminal while its cell runs."""

    say: Callable[[str], None] = lambda line: None
    progress: Callable[[str], Any] = lambda cell_id: None  # a ProgressLine, or None
