"""Exec probes on calico-node the way the kubelet runs and counts them.

Settings come from the cell's Calico manifest (the calico-node container of the
calico-node DaemonSet), never from constants. Counting follows kubernetes/kubernetes
pkg/kubelet/prober/worker.go doProbe: a prober error (the probe could not be run)
"throws away the result"; otherwise equal consecutive results extend the run
(``resultRun``), and a Failure changes the probe's state only once ``resultRun``
reaches ``failureThreshold`` (a Success once it reaches ``successThreshold``). After a
liveness Failure the worker holds until it sees a new container ID. prober.go runProbe
for exec: a non-zero exit is Failure; with ExecProbeTimeout (GA since 1.20) a timeout is
Failure too; any other exec error is Unknown with an error, i.e. discarded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..calico import CALICO_NODE
from ..cri.client import ExecResult

SUCCESS, FAILURE = "success", "failure"


@dataclass(frozen=True)
class ProbeSpec:
    kind: str  # "liveness" | "readiness"
    command: tuple[str, ...]
    period_s: int = 10
    timeout_s: int = 1
    failure_threshold: int = 3
    success_threshold: int = 1
    initial_delay_s: int = 0


def probe_specs(docs: list[dict[str, Any]]) -> tuple[list[ProbeSpec], int]:
    """The calico-node container's exec probes and the pod's terminationGracePeriodSeconds
    (Kubernetes defaults where a field is unset: period 10, timeout 1, failure 3,
    success 1, grace 30)."""
    for doc in docs:
        if doc.get("kind") != "DaemonSet" or doc.get("metadata", {}).get("name") != CALICO_NODE:
            continue
        spec = doc["spec"]["template"]["spec"]
        grace = int(spec.get("terminationGracePeriodSeconds", 30))
        out = []
        for c in spec.get("containers") or []:
            if c.get("name") != CALICO_NODE:
                continue
            for kind in ("liveness", "readiness"):
                p = c.get(f"{kind}Probe") or {}
                command = (p.get("exec") or {}).get("command")
                if not command:
                    continue
                out.append(ProbeSpec(kind, tuple(str(a) for a in command),
                                     int(p.get("periodSeconds", 10)),
                                     int(p.get("timeoutSeconds", 1)),
                                     int(p.get("failureThreshold", 3)),
                                     int(p.get("successThreshold", 1)),
                                     int(p.get("initialDelaySeconds", 0))))
        return out, grace
    return [], 30


def classify(res: ExecResult) -> str | None:
    """SUCCESS, FAILURE, or None (a prober error: the kubelet throws the result away)."""
    if not res.error:
        return SUCCESS if res.exit_code == 0 else FAILURE
    if "DEADLINE_EXCEEDED" in res.error or "timeout" in res.error.lower():
        return FAILURE
    return None


@dataclass
class Worker:
    """One probe worker for one container (pkg/kubelet/prober/worker.go)."""

    spec: ProbeSpec
    last: str = ""
    run: int = 0
    state: str = SUCCESS  # liveness starts Success; readiness starts Failure in the kubelet
    on_hold: bool = False
    counts: dict[str, int] = field(default_factory=lambda: {SUCCESS: 0, FAILURE: 0,
                                                            "discarded": 0})
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.spec.kind == "readiness":
            self.state = FAILURE

    def record(self, res: ExecResult) -> bool:
        """Count one probe; True when this result makes a liveness worker kill."""
        self.latencies.append(res.seconds)
        result = classify(res)
        if result is None:
            self.counts["discarded"] += 1
            self.errors.append(res.error)
            return False
        self.counts[result] += 1
        if result == FAILURE and res.output:
            self.errors.append(res.output.splitlines()[-1][:120])
        if result == self.last:
            self.run += 1
        else:
            self.last, self.run = result, 1
        threshold = (self.spec.failure_threshold if result == FAILURE
                     else self.spec.success_threshold)
        if self.run < threshold:
            return False
        self.state = result
        if self.spec.kind == "liveness" and result == FAILURE:
            self.on_hold, self.run = True, 0
            return True
        return False

    def new_container(self) -> None:
        """The kubelet resumes probing when it sees a new container ID."""
        self.on_hold, self.last, self.run = False, "", 0

    def summary(self) -> str:
        lat = sorted(self.latencies)
        p50 = lat[len(lat) // 2] if lat else 0.0
        return (f"{self.spec.kind} `{' '.join(self.spec.command)}` every {self.spec.period_s}s "
                f"(timeout {self.spec.timeout_s}s, failureThreshold "
                f"{self.spec.failure_threshold}): {self.counts[SUCCESS]} ok, "
                f"{self.counts[FAILURE]} failed, {self.counts['discarded']} discarded; "
                f"p50 {p50:.2f}s max {max(lat, default=0.0):.2f}s"
                + (f"; first error: {self.errors[0][:160]}" if self.errors else ""))
