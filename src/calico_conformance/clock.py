"""The one seam through which soak and watch logic reads and spends time.

Production uses :class:`SystemClock`. Tests hand the same code a
:class:`FakeClock`, so a ten-minute soak runs in milliseconds.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

from .errors import InputError


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
        return self._start + timedelta(seconds=self._elapsed)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._elapsed += seconds


_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN = re.compile(_NUMBER)
_TERM = re.compile(rf"({_NUMBER})(ms|s|m|h)")  # "ms" before "m": 10ms is not 10m + s
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_HINT = "use e.g. 90, 90s, 10m, 1h30m"


MAX_DURATION_S = 30 * 86400.0


def parse_duration(text: str, *, option: str = "duration") -> float:
    """Parse ``90``, ``90s``, ``10m``, ``1h30m`` into seconds.

    Only finite, positive durations: ``float()`` alone would let ``nan`` (a soak
    that never ends), ``inf``, ``-5`` and ``0`` through.
    """
    s = text.strip().lower()
    if not s:
        raise InputError(f"{option}: empty duration ({_HINT})")
    if s.startswith("-"):
        raise InputError(f"{option}: duration {text!r} must be greater than zero ({_HINT})")
    if _PLAIN.fullmatch(s):
        total = float(s)
    else:
        total, pos = 0.0, 0
        while pos < len(s):
            term = _TERM.match(s, pos)
            if term is None:
                if pos and _PLAIN.fullmatch(s, pos):
                    raise InputError(f"{option}: duration {text!r} lacks a unit after "
                                     f"{s[pos:]!r} ({_HINT})")
                raise InputError(f"{option}: cannot read duration {text!r} ({_HINT})")
            total += float(term.group(1)) * _UNITS[term.group(2)]
            pos = term.end()
    if not math.isfinite(total) or total <= 0:
        raise InputError(f"{option}: duration {text!r} must be finite and greater than zero "
                         f"({_HINT})")
    if total > MAX_DURATION_S:  # a timer that long overflows the platform's wait
        raise InputError(f"{option}: duration {text[:40]!r} is longer than 30 days")
    return total
