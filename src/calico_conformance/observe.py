"""What a cell observed, in the two shapes the verdict engine reads.

The kind tier (and a paste) gives an observation log: what the watch saw, one JSON
line per change, so a stored ``observations.jsonl`` can be re-judged (or replayed in a
test) without a cluster. The probe and node tiers give a :class:`StepRecord`: the step
that failed (in containerd's words), our trouble, and the kubelet's kills.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .calico import CALICO_NODE, KUBE_CONTROLLERS
from .errors import StepFailed
from .model import from_dict, to_dict


@dataclass(frozen=True)
class Observation:
    t: float  # seconds since the watch started (Clock.monotonic based)
    source: str  # "pod" | "event" | "node" | "cluster" | "infra"
    at: str = ""  # wall-clock ISO time
    app: str = ""  # k8s-app label of the pod
    pod: str = ""
    node: str = ""
    container: str = ""
    phase: str = ""
    restart_count: int | None = None
    state: str = ""  # "running" | "waiting" | "terminated"
    reason: str = ""  # current waiting/terminated reason
    exit_code: int | None = None
    last_reason: str = ""  # lastState.terminated reason
    last_exit_code: int | None = None
    ready: bool | None = None
    event_reason: str = ""
    event_type: str = ""
    message: str = ""
    count: int = 0
    init: bool = False  # an init container: it re-runs only when the sandbox is re-created


@dataclass(frozen=True)
class Kill:
    """A container that ended during a node window: killed by the (emulated) kubelet or
    exited by itself, with what CRI reported afterwards."""

    t: float
    why: str  # "pod-cgroup-missing" | "liveness" | "exited"
    exit_code: int
    reason: str
    detail: str = ""


@dataclass
class StepRecord:
    """What a probe or node cell saw, filled step by step while it runs."""

    notes: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    failure: StepFailed | None = None  # the step that failed, in the runtime's words
    trouble: str = ""  # our side: never a statement about the config
    trouble_subtype: str = ""
    kills: list[Kill] = field(default_factory=list)
    init_runs: int = 0
    sandboxes: int = 0
    completed: bool = False  # the window ran to its end
    watched_s: float = 0.0
    exit_codes: tuple[int, ...] = ()
    timings: dict[str, float] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)
    misplaced: str = ""  # where the container landed, when outside its pod cgroup


def _container_state(state: dict[str, Any] | None) -> tuple[str, str, int | None]:
    for name in ("running", "waiting", "terminated"):
        detail = (state or {}).get(name)
        if detail is not None:
            detail = detail or {}
            return name, str(detail.get("reason") or ""), detail.get("exitCode")
    return "", "", None


def from_pod(t: float, at: str, pod: dict[str, Any]) -> list[Observation]:
    """One observation per container of a pod object (API JSON, camelCase), init
    containers included: their restart counts are evidence of sandbox re-creation."""
    meta, spec, status = pod.get("metadata", {}), pod.get("spec", {}), pod.get("status", {}) or {}
    app = (meta.get("labels") or {}).get("k8s-app", "")
    out = []
    statuses = status.get("containerStatuses") or []
    if not statuses:
        out.append(Observation(t=t, source="pod", at=at, app=app, pod=meta.get("name", ""),
                               node=spec.get("nodeName") or "", phase=status.get("phase", ""),
                               ready=False))
    inits = [(cs, True) for cs in status.get("initContainerStatuses") or []]
    for cs, init in [*((cs, False) for cs in statuses), *inits]:
        state, reason, code = _container_state(cs.get("state"))
        _, last_reason, last_code = _container_state(cs.get("lastState"))
        out.append(Observation(
            t=t, source="pod", at=at, app=app, pod=meta.get("name", ""),
            node=spec.get("nodeName") or "", container=cs.get("name", ""),
            phase=status.get("phase", ""), restart_count=cs.get("restartCount"),
            state=state, reason=reason, exit_code=code, last_reason=last_reason,
            last_exit_code=last_code, ready=bool(cs.get("ready")), init=init,
        ))
    return out


def from_event(t: float, at: str, event: dict[str, Any]) -> Observation:
    inv = event.get("involvedObject") or {}
    name = inv.get("name", "")
    app = CALICO_NODE if name == CALICO_NODE or name.startswith(CALICO_NODE + "-") else (
        KUBE_CONTROLLERS if name.startswith(KUBE_CONTROLLERS) else "")
    return Observation(t=t, source="event", at=at, app=app, pod=name,
                       node=(event.get("source") or {}).get("host", "") or "",
                       event_reason=event.get("reason", "") or "",
                       event_type=event.get("type", "") or "",
                       message=(event.get("message") or "").strip(),
                       count=int(event.get("count") or 1))


def from_node(t: float, at: str, node: dict[str, Any]) -> Observation:
    ready = None
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            ready = cond.get("status") == "True"
    return Observation(t=t, source="node", at=at, node=node.get("metadata", {}).get("name", ""),
                       ready=ready)


def infra(t: float, at: str, message: str) -> Observation:
    """Trouble on our side (API unreachable, watch could not resume)."""
    return Observation(t=t, source="infra", at=at, message=message)


def cluster_failed(t: float, at: str, message: str) -> Observation:
    return Observation(t=t, source="cluster", at=at, event_reason="CreateFailed", message=message)


class ObservationLog:
    """Append-only log, mirrored line by line to a JSONL file when given one."""

    def __init__(self, path: Path | None = None) -> None:
        self.items: list[Observation] = []
        self.path = path
        self._fh = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = path.open("a", encoding="utf-8")

    def append(self, obs: Observation) -> None:
        self.items.append(obs)
        if self._fh is not None:
            self._fh.write(json.dumps(to_dict(obs), separators=(",", ":")) + "\n")
            self._fh.flush()

    def extend(self, items: Iterable[Observation]) -> None:
        for obs in items:
            self.append(obs)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __iter__(self) -> Iterator[Observation]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def read_jsonl(path: Path) -> list[Observation]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out.append(from_dict(Observation, json.loads(line)))
    return out
