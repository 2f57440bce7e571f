"""A measured load factor for the few bounded waits that stand-in runs make in wall time.

The stand-in cluster plays its scenarios in (scaled) wall time and the suite under test
soaks for a wall-clock window, so on a busy machine a fixed window can end before the
stand-in's pods are seen. Rather than guessing headroom, each run measures how much of a
CPU it gets now: the wall time of a short CPU-bound loop over the CPU time it used (1 on
a quiet machine, about 2.5 beside `stress --cpu 4` on 2 cores), and windows scale by it.
"""

from __future__ import annotations

import math
import statistics
import time

SAMPLE_S = 0.05  # CPU time per sample
MAX_FACTOR = 20.0


def _sample() -> float:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    n = 0
    while time.process_time() - cpu0 < SAMPLE_S:
        n += 1
    cpu = time.process_time() - cpu0
    return (time.perf_counter() - wall0) / cpu


def load_factor(samples: int = 5) -> float:
    """How many times slower than a quiet machine a CPU-bound step runs right now."""
    return min(MAX_FACTOR, max(1.0, statistics.median(_sample() for _ in range(samples))))


def scaled(seconds: float, factor: float | None = None) -> str:
    """``seconds`` stretched by the load factor, as a whole-second duration option."""
    return f"{math.ceil(seconds * (factor or load_factor()))}s"
