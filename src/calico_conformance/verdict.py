"""The verdict: a pure function of the observation log and thresholds.

Classes, in order of precedence: ``cluster-fails`` (kind create failed),
``not-started`` (sandbox/container creation or image pulls failed),
``restarts``, ``never-ready``, ``flapping``, ``stable``; ``unknown`` is kept for
trouble on our side and never reported as a property of the config.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from itertools import pairwise

from .calico import CALICO_NODE
from .model import CellResult, EventSummary, Evidence, Outcome, PodRow, TimelinePoint, Verdict
from .observe import Observation
from .tracker import (
    FAILED_WAITING,
    PodState,
    Thresholds,
    Tracker,
    is_fail_event,
)

SLOW_WAITING = {"ContainerCreating", "PodInitializing"}
KEY_EVENTS = {"Unhealthy", "Killing", "BackOff", "SandboxChanged", "FailedCreatePodSandBox",
              "OOMKilling", "Failed", "ErrImagePull", "ImagePullBackOff", "FailedMount"}

# runsvdir (calico/node's init) exits 0 when it gets SIGKILL, so "Completed, exit 0" on a
# calico-node container is a kill, not a clean exit (projectcalico/calico#5157).
KILL_NOTE = ("exit 0 / Completed is a kill, not a clean exit: calico-node runs under runsvdir, "
             "which exits 0 on SIGKILL (projectcalico/calico#5157); usually a liveness-probe "
             "kill or a sandbox re-creation")
# A sandbox re-created under a running pod is the classic cgroup-driver mismatch symptom
# (kubernetes/kubernetes#110177, containerd/containerd#7276).
SANDBOX_NOTE = ("SandboxChanged events: the pod sandbox was re-created, which points to a "
                "cgroup driver mismatch between containerd (SystemdCgroup) and the kubelet")


def _not_started(pods: dict[str, PodState], fails: list[Observation], end: float,
                 grace_s: float) -> list[PodState]:
    """Pods that never ran and have a reason to believe they will not."""
    failed_pods = {o.pod for o in fails}
    return [p for p in pods.values() if not p.running and (
        p.waiting in FAILED_WAITING
        or (end >= grace_s and (p.name in failed_pods or p.waiting in SLOW_WAITING)))]


def _events(obs: list[Observation]) -> tuple[EventSummary, ...]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for o in obs:
        if o.source == "event" and o.event_reason in KEY_EVENTS and o.app == CALICO_NODE:
            counts[(o.event_reason, o.message, o.pod)] += 1
    merged: Counter[tuple[str, str]] = Counter()
    objects: dict[tuple[str, str], str] = {}
    for (reason, message, pod), n in counts.items():
        merged[(reason, message)] += n
        objects.setdefault((reason, message), pod)
    return tuple(EventSummary(r, m, n, objects[(r, m)]) for (r, m), n in merged.most_common(8))


def _probe_message(obs: list[Observation]) -> str:
    for o in reversed(obs):
        if o.source == "event" and o.event_reason == "Unhealthy" and "Readiness" in o.message:
            return o.message
    for o in reversed(obs):
        if o.source == "event" and o.event_reason == "Unhealthy":
            return o.message
    return ""


def _restart_subtype(pods: dict[str, PodState], obs: list[Observation]) -> str:
    reasons = {p.last_reason for p in pods.values() if p.restarts}
    codes = {p.exit_code for p in pods.values() if p.restarts}
    crashloop = any(o.reason == "CrashLoopBackOff" for o in obs if o.source == "pod")
    if "OOMKilled" in reasons:
        return "oom-killed"
    if 0 in codes or "Completed" in reasons:
        return "killed-exit-0"
    return "crashloop-backoff" if crashloop else "error-exit"


def judge(obs: list[Observation], thresholds: Thresholds | None = None,
          watched_s: float | None = None) -> tuple[Verdict, str, Evidence]:
    """Classify a cell from its observation log."""
    th = thresholds or Thresholds()
    tracked = Tracker().feed(obs)
    pods, timeline = tracked.pods, list(tracked.timeline)
    events = _events(obs)
    for o in obs:
        if o.source == "event" and o.event_reason in KEY_EVENTS and o.app == CALICO_NODE:
            timeline.append(TimelinePoint(o.t, "event", o.pod, f"{o.event_reason}: {o.message}"))
    timeline.sort(key=lambda p: p.t)
    end = watched_s if watched_s is not None else max((o.t for o in obs), default=0.0)
    restart_times = sorted(t for p in pods.values() for t in p.restart_times)
    intervals = [b - a for a, b in pairwise(restart_times)]
    notes: list[str] = []
    if any(e.reason == "SandboxChanged" for e in events):
        notes.append(SANDBOX_NOTE)
    rows = tuple(PodRow(p.name, p.node, p.restarts, p.last_reason or p.waiting,
                        p.exit_code, p.ready) for p in sorted(pods.values(), key=lambda x: x.name))
    exit_codes = tuple(sorted({p.exit_code for p in pods.values() if p.exit_code is not None}))
    reasons = tuple(sorted({p.last_reason for p in pods.values() if p.last_reason}))
    fail_events = [o for o in obs if is_fail_event(o)]
    first_failure = min([*restart_times, *(o.t for o in fail_events)], default=None)
    base = dict(restart_times_s=tuple(restart_times), restarts=len(restart_times),
                restart_interval_s=(sum(intervals) / len(intervals)) if intervals else None,
                exit_codes=exit_codes, reasons=reasons, probe_message=_probe_message(obs),
                events=events, pods=rows, timeline=tuple(timeline), watched_s=end)

    def evidence(**extra: object) -> Evidence:
        return Evidence(**{**base, "first_failure_s": first_failure, "notes": tuple(notes),
                           **extra})  # type: ignore[arg-type]

    created = [o for o in obs if o.source == "cluster"]
    if created:
        return Verdict.CLUSTER_FAILS, "kind-create", evidence(error=created[-1].message)
    infra = [o.message for o in obs if o.source == "infra"]
    if len(restart_times) >= th.min_restarts:
        subtype = _restart_subtype(pods, obs)
        if subtype == "killed-exit-0":
            notes.append(KILL_NOTE)
        return Verdict.RESTARTS, subtype, evidence()
    stuck = _not_started(pods, fail_events, end, th.ready_grace_s)
    if stuck:
        mine = [o for o in fail_events if o.pod in {p.name for p in stuck}]
        reason = mine[-1].event_reason if mine else stuck[0].waiting
        return Verdict.NOT_STARTED, reason, evidence(error=mine[-1].message if mine else "")
    if infra and not pods:
        return Verdict.UNKNOWN, "infrastructure", evidence(error=infra[-1])
    if not pods:
        return Verdict.UNKNOWN, "no-pods", evidence(error="no calico-node pod was observed")
    # A lost watch ends what we know: only what was seen before it may stand.
    seen_until = min((o.t for o in obs if o.source == "infra"), default=end)
    never = [p for p in pods.values() if not p.ever_ready]
    if never and seen_until >= th.ready_grace_s:
        probe = base["probe_message"]
        sub = "bird" if "BIRD is not ready" in str(probe) else "probe"
        return Verdict.NEVER_READY, sub, evidence(first_failure_s=th.ready_grace_s)
    lost = [t.t for t in timeline if t.kind == "not-ready" and t.t <= seen_until]
    if lost and any(p.ever_ready for p in pods.values()):
        return Verdict.FLAPPING, "readiness", evidence(first_failure_s=min(lost))
    if infra:
        # Whatever we did not see could have been a restart: no verdict about the config.
        return Verdict.UNKNOWN, "watch-lost", evidence(error=infra[-1])
    if never:
        return Verdict.UNKNOWN, "not-ready-yet", evidence(
            error=f"not Ready after {end:.0f}s, shorter than the {th.ready_grace_s:.0f}s grace")
    return Verdict.STABLE, "", evidence()


def outcome(expected: str, verdict: Verdict) -> Outcome:
    """Judge a verdict against what the variant expects."""
    if verdict is Verdict.UNKNOWN:
        return Outcome.UNKNOWN
    if not expected:
        return Outcome.OBSERVED
    if expected == Verdict.STABLE.value:
        return Outcome.PASS if verdict is Verdict.STABLE else Outcome.FAIL
    if verdict is Verdict.STABLE:
        return Outcome.XPASS
    return Outcome.XFAIL if verdict.value == expected else Outcome.FAIL


# What containerd decides before any pod exists: kind create fails the same way on every
# node, so a probe's word is enough to predict the kind cell without spending a cluster.
PREDICTABLE = frozenset({Verdict.CONFIG_REJECTED, Verdict.CRI_UNAVAILABLE})


def predicted_from_probe(probe: CellResult) -> tuple[Verdict, str, Evidence] | None:
    """The kind verdict a probe result predicts, or None when it predicts nothing."""
    if probe.verdict not in PREDICTABLE:
        return None
    notes = (*probe.evidence.notes,
             f"predicted from the probe tier ({probe.cell_id}), not observed on kind")
    return (Verdict.CLUSTER_FAILS, f"predicted:{probe.verdict.value}",
            replace(probe.evidence, notes=notes))
