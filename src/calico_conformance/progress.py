"""Per-cell soak progress the way pytest users expect it.

On a TTY the line is rewritten in place; in CI logs a plain line is printed every
``interval_s`` so a long soak is visibly alive without flooding the log.
"""

from __future__ import annotations

from collections.abc import Callable

from .clock import Clock, SystemClock
from .watch import Progress


def _fmt(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}m{s:02d}s" if m else f"{s}s"


def describe(cell_id: str, p: Progress) -> str:
    pct = min(100, int(100 * p.elapsed_s / p.soak_s)) if p.soak_s else 100
    state = "done" if p.done else "soaking"
    if p.early:
        state = "stopped early: cannot become stable"
    return (f"{cell_id}: {state} {_fmt(p.elapsed_s)}/{_fmt(p.soak_s)} ({pct}%), "
            f"restarts {p.restarts}, ready {p.ready}/{p.pods}")


class ProgressLine:
    """A callable for :func:`calico_conformance.watch.soak`'s ``progress``."""

    def __init__(self, cell_id: str, write: Callable[[str], None],
                 rewrite: Callable[[str], None] | None, interval_s: float = 30.0,
                 clock: Clock | None = None) -> None:
        self.cell_id = cell_id
        self.write = write
        self.rewrite = rewrite
        self.interval_s = interval_s
        self.clock = clock or SystemClock()
        self._last = float("-inf")

    def __call__(self, p: Progress) -> None:
        line = describe(self.cell_id, p)
        if self.rewrite is not None:
            self.rewrite(line)
            if p.done:
                self.write("")
            return
        now = self.clock.monotonic()
        if p.done or now - self._last >= self.interval_s:
            self._last = now
            self.write(line)
