"""The one life of a cell, whatever its tier (sonobuoy's driver: one routine runs every
plugin's life; each plugin supplies only its own steps).

:func:`live` owns what every tier does the same way: the timestamps, interrupt
confirmation, the shielded release, "a failed step is the config's finding, our trouble
is ``unknown``", and building the result (:func:`~.results.build_result`). A tier
supplies a :class:`CellLife`: its steps (``observe``), how it records a failed step and
our trouble, its judging (always through :mod:`.verdict`), its release, and what the
result says about where the cell ran. Probe and node cells share :class:`StepLife`,
whose record is judged by :func:`~.verdict.judge_steps`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from .cells import Target
from .clock import Clock
from .errors import ConformanceError, InputError, StepFailed
from .model import CellResult, ConfigCheck, Evidence, Verdict
from .observe import StepRecord
from .results import Declared, build_result
from .signals import confirm, shielded
from .verdict import judge_steps


@dataclass(frozen=True)
class Judged:
    verdict: Verdict
    subtype: str
    evidence: Evidence


class CellLife(Protocol):
    """What a tier supplies for one cell."""

    repeat: int
    artifacts: str

    def observe(self) -> None:
        """The tier's steps; a config's failure raises StepFailed, ours ConformanceError."""
        ...

    def failed(self, exc: StepFailed) -> None: ...

    def trouble(self, exc: ConformanceError) -> None: ...

    def judge(self) -> Judged:
        """The verdict, through :mod:`.verdict` (also on the way out of an interrupt)."""
        ...

    def release(self, judged: Judged, interrupted: bool) -> list[str]:
        """Tear down whatever the steps acquired (shielded); returns notes for the evidence.
        Nothing may be raised from here: it would hide a Ctrl-C or lose the verdict."""
        ...

    def declared(self) -> Declared:
        """The cell as it really ran (axes filled from what was found, e.g. containerd)."""
        ...

    def config_check(self) -> ConfigCheck: ...

    def not_tested(self) -> str:
        """Why the verdict says nothing about the variant, or "" (never a pass then)."""
        ...


def live(life: CellLife, clock: Clock) -> CellResult:
    """One cell, start to finish, on any tier."""
    started = clock.now().isoformat()
    interrupted = True
    try:
        try:
            life.observe()
        except StepFailed as exc:
            life.failed(exc)
        except ConformanceError as exc:
            life.trouble(exc)
        interrupted = False
    except KeyboardInterrupt:
        confirm()  # on its way out: a second Ctrl-C or SIGTERM waits for the release
        raise
    finally:  # also for our bugs: release, then let the traceback out
        with shielded():
            judged = life.judge()
            notes = life.release(judged, interrupted)
    evidence = replace(judged.evidence, notes=(*judged.evidence.notes, *notes))
    return build_result(life.declared(), judged.verdict, subtype=judged.subtype,
                        evidence=evidence, config_check=life.config_check(),
                        artifacts=life.artifacts, started_at=started,
                        finished_at=clock.now().isoformat(), repeat=life.repeat,
                        not_tested=life.not_tested())


def effective_config(target: Target, notes: list[str]) -> tuple[dict[str, Any] | str,
                                                               tuple[str, ...]]:
    """(the config a node runs, the patches kind would skip). A patch kind itself would
    refuse gives the variant's text as written, and a note saying so."""
    try:
        eff = target.effective
        return eff.data, tuple(s.describe() for s in eff.skipped)
    except InputError as exc:
        notes.append(f"no effective config ({exc.one_line()}); the runtime was given the "
                     "variant text as written")
        return target.variant.text, ()


class StepLife:
    """The probe's and the node's shared half: a :class:`StepRecord` judged by
    :func:`~.verdict.judge_steps`. ``where`` names the side trouble comes from."""

    where = "host"
    artifacts = ""

    def __init__(self, target: Target, repeat: int) -> None:
        self.target, self.repeat = target, repeat
        self.rec = StepRecord()
        self.config, self.skipped = effective_config(target, self.rec.notes)

    def failed(self, exc: StepFailed) -> None:
        self.rec.failure = exc

    def trouble(self, exc: ConformanceError) -> None:
        self.rec.trouble = f"{self.where} trouble: {exc}"

    def judge(self) -> Judged:
        return Judged(*judge_steps(self.rec))

    def not_tested(self) -> str:
        if isinstance(self.config, str):  # no effective config: nothing kind would skip
            return ""
        return self.target.skipped_by_kind()
