"""The one seam through which soak and watch logic reads and spends time.

Production uses :class:`SystemClock`. Tests hand the same code a
:class:`FakeClock`, so a ten-minute soak runs in milliseconds.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """Time that moves only when told to: by ``sleep`` or ``advance``."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime(2024, 1, 1, tzinfo=timezone.utc)
        self._elapsed = 0.0

    def monotonic(self) -> float:
        return self._elapsed

    def now(self) -> datetime:
        from datetime import timedelta

        return self._start + timedelta(seconds=self._elapsed)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._elapsed += seconds


def parse_duration(text: str, *, option: str = "duration") -> float:
    """Parse ``90``, ``90s``, ``10m``, ``1h30m`` into seconds."""
    from .errors import InputError

    s = text.strip().lower()
    if not s:
        raise InputError(f"{option}: empty duration")
    try:
        return float(s)
    except ValueError:
        pass
    total, num = 0.0, ""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    i = 0
    while i < len(s):
        c = s[i]
        if c.isdigit() or c == ".":
            num += c
            i += 1
            continue
        unit = "ms" if s.startswith("ms", i) else c
        if unit not in units or not num:
            raise InputError(f"{option}: cannot read duration {text!r} (use e.g. 90s, 10m, 1h)")
        total += float(num) * units[unit]
        num = ""
        i += len(unit)
    if num:
        raise InputError(f"{option}: duration {text!r} lacks a unit after {num!r}")
    return total
