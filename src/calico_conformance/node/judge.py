"""The node tier's verdict: a pure function of what one node cell observed.

The classes are the suite's existing ones. A kill by the emulated kubelet is
``restarts`` (subtype: which kubelet path killed, ``pod-cgroup-missing`` or
``liveness``); a container that ended by itself is ``container-exits``; a config
containerd refuses is ``config-rejected`` with containerd's own words from the journal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Verdict
from .kubelet import Kill

KILL_ORDER = ("pod-cgroup-missing", "liveness")


@dataclass
class NodeObservation:
    verdict: Verdict = Verdict.UNKNOWN
    subtype: str = ""
    error: str = ""
    notes: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)
    init_runs: int = 0
    sandboxes: int = 0
    watched_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    placement: dict[str, str] = field(default_factory=dict)


def judge_window(obs: NodeObservation, containerd_lost: str = "") -> None:
    """Set verdict/subtype/error once the window ran (the pod was created)."""
    if containerd_lost:
        obs.verdict, obs.error = Verdict.CRI_UNAVAILABLE, containerd_lost
        return
    for why in KILL_ORDER:
        kills = [k for k in obs.kills if k.why == why]
        if kills:
            obs.verdict, obs.subtype = Verdict.RESTARTS, why
            obs.error = describe_kills(kills, obs.init_runs, obs.sandboxes)
            return
    exits = [k for k in obs.kills if k.why == "exited"]
    if exits:
        obs.verdict = Verdict.CONTAINER_EXITS
        obs.error = describe_kills(exits, obs.init_runs, obs.sandboxes)
        return
    obs.verdict = Verdict.STABLE


def describe_kills(kills: list[Kill], init_runs: int, sandboxes: int) -> str:
    first = kills[0]
    ends = ", ".join(sorted({f"exit {k.exit_code} {k.reason or '?'}" for k in kills}))
    return (f"{len(kills)} kill(s) ({first.why}) from t={first.t:.1f}s, ended {ends}; "
            f"init containers ran {init_runs}x, {sandboxes} sandbox(es); first: {first.detail}")


def signature(obs: NodeObservation) -> bool:
    """The original report's signature: a kubelet kill (not an exit of its own) that ended
    Completed/exit 0, with the sandbox re-created and the init container run again."""
    return (any(k.why == "pod-cgroup-missing" and k.exit_code == 0 for k in obs.kills)
            and obs.sandboxes > 1 and obs.init_runs > 1)
