"""A scripted observation source on a fake clock: soak logic without a cluster."""

from __future__ import annotations

from calico_conformance.clock import Clock, FakeClock
from calico_conformance.observe import Observation


class ScriptedSource:
    """Hands over observations at their scripted times, advancing the fake clock."""

    def __init__(self, clock: FakeClock, script: list[Observation]) -> None:
        self.clock = clock
        self.script = sorted(script, key=lambda o: o.t)
        self.t0 = 0.0
        self.closed = False
        self.waits = 0

    def start(self, clock: Clock) -> None:
        self.t0 = clock.monotonic()

    def next(self, timeout: float) -> list[Observation] | None:
        self.waits += 1
        now = self.clock.monotonic() - self.t0
        if self.script and self.script[0].t <= now + timeout:
            obs = self.script.pop(0)
            self.clock.advance(max(0.0, obs.t - now))
            return [obs]
        self.clock.advance(timeout)
        return None

    def close(self) -> None:
        self.closed = True


def pod(t: float, name: str = "calico-node-a", *, restarts: int = 0, ready: bool = True,
        state: str = "running", reason: str = "", last_reason: str = "",
        last_exit: int | None = None, node: str = "n1") -> Observation:
    return Observation(t=t, source="pod", app="calico-node", pod=name, node=node,
                       container="calico-node", restart_count=restarts, ready=ready,
                       state=state, reason=reason, last_reason=last_reason,
                       last_exit_code=last_exit,
                       phase="Running" if state == "running" else "Pending")


def event(t: float, reason: str, message: str, name: str = "calico-node-a") -> Observation:
    return Observation(t=t, source="event", app="calico-node", pod=name, event_reason=reason,
                       message=message, event_type="Warning")
