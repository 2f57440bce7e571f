"""What the suites call: run one cell on its tier, record it, and turn it into a test outcome.

One ``run`` for every tier: the cell's tier (:mod:`.tiers`) says whether it can run
here, whether it holds a ``--max-clusters`` slot, and how to run it. The runner knows
the session's context and state but no pytest hook; the hooks live on
:class:`~.session.ConformanceSession`, which hands itself in as a :class:`Session`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pytest

from .context import Hooks, RunContext, RunState
from .errors import ExpectedBreakage
from .model import CellResult, Outcome
from .parallel import slot
from .progress import ProgressLine
from .reporting.facts import failure_message
from .tiers import AnyCell, tier_of

UNAVAILABLE = "tier unavailable here"


class Session(Protocol):
    """What the runner needs of the session: its context and state, and the run folder."""

    ctx: RunContext
    state: RunState

    def record(self, result: CellResult) -> CellResult: ...

    def started(self, cell_id: str, repeat: int) -> None: ...


class CellRunner:
    def __init__(self, session: Session, config: pytest.Config) -> None:
        self.session = session
        self.config = config

    def _writers(self) -> tuple[Callable[[str], None], Callable[[str], None] | None] | None:
        """Write and (on a TTY) rewrite a terminal line from inside a running test."""
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        if tr is None:
            return None

        def uncaptured(write: Callable[[str], None]) -> Callable[[str], None]:
            # Cells run inside a test, where pytest captures output; progress must reach
            # the terminal now, as pytest's own live logging does.
            def out(line: str) -> None:
                if capman is None:
                    write(line)
                    return
                with capman.global_and_fixture_disabled():
                    write(line)
            return out

        tty = bool(getattr(tr, "isatty", False))
        return uncaptured(tr.write_line), (uncaptured(tr.rewrite) if tty else None)

    def _progress(self, cell_id: str) -> ProgressLine | None:
        writers = self._writers()
        if writers is None:
            return None
        return ProgressLine(cell_id, writers[0], writers[1], interval_s=30.0,
                            clock=self.session.ctx.clock)

    def _say(self, line: str) -> None:
        writers = self._writers()
        if writers is not None:
            writers[0](line)

    def run(self, cell: AnyCell, repeat: int = 1) -> CellResult:
        """Run ``cell`` on its tier and record the result (a skip when the tier cannot
        run here, with the reason)."""
        s = self.session
        ctx, tier = s.ctx, tier_of(cell)
        reason = tier.unavailable(ctx, cell)
        if reason:
            pytest.skip(f"{tier.name} {UNAVAILABLE}: {reason}")
        slug = cell.slug(repeat)
        s.started(cell.id, repeat)
        hooks = Hooks(say=self._say, progress=self._progress)
        t0 = ctx.clock.monotonic()
        if tier.slotted:
            with slot(ctx.run.run_dir / ".slots", ctx.run.max_slots, ctx.clock):
                result = tier.run(ctx, s.state, hooks, cell, repeat)
        else:
            result = tier.run(ctx, s.state, hooks, cell, repeat)
        if tier.announce:
            self._say(f"{slug}: {result.verdict.value}"
                      + (f" ({result.subtype})" if result.subtype else "")
                      + f" in {ctx.clock.monotonic() - t0:.0f}s")
        return s.record(result)

    @staticmethod
    def outcome(result: CellResult) -> None:
        """Turn a result into the test's outcome (xfail marks do the rest)."""
        msg = failure_message(result)
        if result.outcome is Outcome.PREDICTED:
            pytest.skip(f"{result.cell_id}: predicted {result.verdict.value} from the probe "
                        f"tier; no cluster spent")
        if result.outcome is Outcome.NOT_TESTED:
            pytest.skip(f"{result.cell_id}: not tested: {result.not_tested}")
        if result.outcome is Outcome.UNKNOWN:
            pytest.fail(f"infrastructure trouble, not a property of the config:\n{msg}",
                        pytrace=False)
        if result.outcome is Outcome.XFAIL:
            raise ExpectedBreakage(msg)
        if result.outcome is Outcome.FAIL:
            raise AssertionError(msg)
        # PASS, XPASS (strict xfail turns it into a failure) and OBSERVED pass here.


def nothing_ran(session: pytest.Session) -> str | None:
    """When no cell ran at all, the reason the first one was skipped for a tier that
    cannot run here (read from the reports, which the controller sees under -n too)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = reporter.stats if reporter is not None else {}
    if any(stats.get(k) for k in ("passed", "failed", "xfailed", "xpassed", "error")):
        return None
    for report in stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        text = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr)
        if UNAVAILABLE in text:
            return text.removeprefix("Skipped: ")
    return None
