"""How fast the watch logic judges: soak loop and verdict on a fake clock.

Prints, for growing soak windows and observation logs, the wall time the soak
loop needs (no cluster: a scripted source on the fake clock) and the time for
one verdict over the resulting log. Run: python benchmarks/bench_soak.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from calico_conformance.clock import FakeClock
from calico_conformance.observe import ObservationLog
from calico_conformance.verdict import judge
from calico_conformance.watch import soak
from kindtier.scripted import ScriptedSource, event, pod


def script(soak_s: float, pods: int, restart_every_s: float) -> list:
    obs = []
    for p in range(pods):
        name = f"calico-node-{p}"
        obs.append(pod(0.5, name, ready=True))
        n, t = 0, restart_every_s
        while t < soak_s:
            n += 1
            obs.append(event(t - 0.5, "Killing", "Container calico-node failed liveness probe",
                             name))
            obs.append(pod(t, name, restarts=n, ready=False, last_reason="Completed",
                           last_exit=0))
            obs.append(pod(t + 2, name, restarts=n, ready=True))
            t += restart_every_s
    return obs


def main() -> None:
    rows = []
    for soak_s, pods in ((600, 2), (3600, 2), (3600, 10), (3600, 50)):
        for every in (20.0, 120.0):
            obs = script(soak_s, pods, every)
            clock = FakeClock()
            log = ObservationLog()
            t0 = time.perf_counter()
            res = soak(ScriptedSource(clock, obs), clock, soak_s, log, full_soak=True,
                       progress=lambda p: None)
            loop_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            verdict, subtype, _ev = judge(log.items, watched_s=res.watched_s)
            judge_s = time.perf_counter() - t0
            clock = FakeClock()
            early = soak(ScriptedSource(clock, obs), clock, soak_s, ObservationLog())
            rows.append((f"{soak_s / 60:.0f}m", pods, f"{every:.0f}s", len(obs),
                         f"{loop_s * 1000:.1f}", f"{loop_s * 1e6 / len(obs):.1f}",
                         f"{judge_s * 1000:.2f}",
                         f"{verdict.value}/{subtype}", f"{early.watched_s:.0f}s"))
    head = ("soak", "pods", "restart every", "observations", "full soak loop ms",
            "loop µs per observation (flat = incremental)", "one verdict ms", "verdict",
            "early verdict at (soak time)")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
