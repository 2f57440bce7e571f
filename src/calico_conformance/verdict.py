"""The verdict: a pure function of the observation log and thresholds.

Classes, in order of precedence: ``cluster-fails`` (kind create failed),
``not-started`` (sandbox/container creation or image pulls failed),
``restarts``, ``never-ready``, ``flapping``, ``stable``; ``unknown`` is kept for
trouble on our side and never reported as a property of the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from .model import Evidence, Outcome, PodRow, TimelinePoint, Verdict
from .observe import CALICO_NODE, Observation
from .verdict_events import (
    KEY_EVENTS,
    NOT_STARTED_EVENTS,
    event_summaries,
    events_only,
    fail_events_of,
    probe_message,
)
from .verdict_notes import (
    INIT_NOTE,
    KILL_NOTE,
    SANDBOX_NOTE,
    SIGTERM_IGNORED_NOTE,
    SNAPSHOT_NOTE,
    UNKNOWN_255_NOTE,
)

__all__ = ["KEY_EVENTS", "KILL_NOTE", "NOT_STARTED_EVENTS", "SANDBOX_NOTE", "SNAPSHOT",
           "Thresholds", "can_stop_early", "judge", "outcome", "summarize"]

# Waiting reasons that are failures by themselves, and ones that are only slow until the
# readiness grace runs out (an image pull on a slow link is not a broken config).
FAILED_WAITING = {"ErrImagePull", "ImagePullBackOff", "CreateContainerError",
                  "CreateContainerConfigError", "InvalidImageName", "RunContainerError"}
SLOW_WAITING = {"ContainerCreating", "PodInitializing"}


MAX_POINTS = 1000  # restart times kept per observation (a watch sees one or two at a time)


@dataclass(frozen=True)
class Thresholds:
    min_restarts: int = 1  # restarts of calico-node within the soak that make a cell unstable
    early_restarts: int = 2  # stop early after this many (also yields the restart interval)
    early_not_started_events: int = 3  # repeated sandbox/pull failures: it will not recover
    early_not_started_span_s: float = 60.0  # ...over at least this long (kubelet backs off)
    ready_grace_s: float = 300.0  # time a pod may take to become Ready before "never-ready"
    min_init_reruns: int = 1  # init-container re-runs (= sandbox re-creations) that are unstable
    # A pasted snapshot, not a watch: restart counts run from pod creation (0), not from the
    # first observation, and carry no times; readiness is only what it was at the paste.
    snapshot: bool = False
    snapshot_probe_failures: int = 3  # events-only input: readiness failures that mean never-ready


# Thresholds for a snapshot (``analyze``), documented in the README ("Judging pasted output"):
# a restart count covers the pod's whole life, so one restart (often a node reboot weeks ago)
# is not a loop; two, or one while the kubelet backs off (CrashLoopBackOff), is. Readiness: a
# pod not Ready at the paste and older than the grace is never-ready (its history is unknown).
SNAPSHOT = Thresholds(min_restarts=2, snapshot=True)


@dataclass
class _Pod:
    name: str
    node: str = ""
    first_restarts: int | None = None
    restarts: int = 0
    restart_times: list[float] = field(default_factory=list)
    ready: bool = False
    ever_ready: bool = False
    lost_ready: bool = False
    regained: int = 0
    running: bool = False
    last_reason: str = ""
    exit_code: int | None = None
    waiting: str = ""
    seen: bool = False  # a status of calico-node itself (not only of its init containers)
    first_init: dict[str, int] = field(default_factory=dict)  # init container: first count
    init_reruns: dict[str, int] = field(default_factory=dict)  # init container: re-runs seen


def _track(obs: list[Observation], snapshot: bool = False
           ) -> tuple[dict[str, _Pod], list[TimelinePoint]]:
    pods: dict[str, _Pod] = {}
    timeline: list[TimelinePoint] = []
    for o in obs:
        if o.source != "pod" or o.app != CALICO_NODE:
            continue
        if o.init:
            _track_init(pods.setdefault(o.pod, _Pod(o.pod)), o, snapshot)
            continue
        if o.container not in ("", CALICO_NODE):
            continue
        p = pods.setdefault(o.pod, _Pod(o.pod))
        p.node, p.seen = o.node or p.node, True
        if o.restart_count is not None:
            if p.first_restarts is None:
                p.first_restarts = 0 if snapshot else o.restart_count
            new = o.restart_count - p.first_restarts - p.restarts
            p.restarts += max(new, 0)
            # A count without times (a snapshot) draws no points; a watch draws one per
            # restart, bounded so a corrupt count cannot run away with the memory.
            for _ in range(0 if snapshot else min(new, MAX_POINTS)):
                p.restart_times.append(o.t)
                detail = o.last_reason + (f", exit {o.last_exit_code}"
                                          if o.last_exit_code is not None else "")
                timeline.append(TimelinePoint(o.t, "restart", o.pod, detail))
        if o.last_reason:
            p.last_reason, p.exit_code = o.last_reason, o.last_exit_code
        if o.state == "terminated" and o.reason:
            p.last_reason, p.exit_code = o.reason, o.exit_code
        p.running = p.running or o.state == "running"
        p.waiting = o.reason if o.state == "waiting" else ""
        ready = bool(o.ready)
        if ready != p.ready:
            timeline.append(TimelinePoint(o.t, "ready" if ready else "not-ready", o.pod))
            if ready and p.lost_ready:
                p.regained += 1
            if not ready and p.ever_ready:
                p.lost_ready = True
        p.ready = ready
        p.ever_ready = p.ever_ready or ready
    return pods, timeline


def _track_init(p: _Pod, o: Observation, snapshot: bool) -> None:
    """Init containers run again only when the sandbox is re-created: count their re-runs."""
    if o.restart_count is None:
        return
    first = p.first_init.setdefault(o.container, 0 if snapshot else o.restart_count)
    p.init_reruns[o.container] = max(p.init_reruns.get(o.container, 0),
                                     o.restart_count - first)


def _not_started(pods: dict[str, _Pod], fails: list[Observation], end: float,
                 grace_s: float) -> list[_Pod]:
    """Pods that never ran and have a reason to believe they will not."""
    failed_pods = {o.pod for o in fails}
    return [p for p in pods.values() if p.seen and not p.running and (
        p.waiting in FAILED_WAITING
        or (end >= grace_s and (p.name in failed_pods or p.waiting in SLOW_WAITING)))]


def summarize(obs: list[Observation]) -> tuple[int, int, int]:
    """Restarts so far, pods Ready now, pods seen: for progress lines."""
    pods, _ = _track(obs)
    return (sum(p.restarts for p in pods.values()), sum(p.ready for p in pods.values()),
            len(pods))


def _restart_subtype(pods: dict[str, _Pod], obs: list[Observation]) -> str:
    reasons = {p.last_reason for p in pods.values() if p.restarts}
    codes = {p.exit_code for p in pods.values() if p.restarts}
    crashloop = any(o.reason == "CrashLoopBackOff" for o in obs if o.source == "pod"
                    and not o.init)
    if "OOMKilled" in reasons:
        return "oom-killed"
    if 0 in codes or "Completed" in reasons:
        return "killed-exit-0"
    if 137 in codes:
        return "killed-exit-137"
    if 255 in codes and "Unknown" in reasons:
        return "runtime-restarted"
    if crashloop:
        return "crashloop-backoff"
    # A pasted table shows a restart count, but neither reason nor exit code.
    return "error-exit" if reasons - {""} or codes - {None} else "cause-not-shown"


def judge(obs: list[Observation], thresholds: Thresholds | None = None,
          watched_s: float | None = None) -> tuple[Verdict, str, Evidence]:
    """Classify a cell (or a pasted snapshot, with ``Thresholds(snapshot=True)``)."""
    th = thresholds or Thresholds()
    pods, timeline = _track(obs, th.snapshot)
    events = event_summaries(obs)
    for o in obs:
        if o.source == "event" and o.event_reason in KEY_EVENTS and o.app == CALICO_NODE:
            timeline.append(TimelinePoint(o.t, "event", o.pod, f"{o.event_reason}: {o.message}"))
    timeline.sort(key=lambda p: p.t)
    end = watched_s if watched_s is not None else max((o.t for o in obs), default=0.0)
    restart_times = sorted(t for p in pods.values() for t in p.restart_times)
    n_restarts = sum(p.restarts for p in pods.values())
    intervals = [b - a for a, b in pairwise(restart_times)]
    reruns = {f"{c} x{n} on {p.name}": n for p in pods.values()
              for c, n in sorted(p.init_reruns.items()) if n > 0}
    notes: list[str] = [SNAPSHOT_NOTE] if th.snapshot else []
    if any(e.reason == "SandboxChanged" for e in events):
        notes.append(SANDBOX_NOTE)
    if reruns:
        notes.append(INIT_NOTE.format(detail=", ".join(reruns)))
    status = [p for p in pods.values() if p.seen]
    rows = tuple(PodRow(p.name, p.node, p.restarts, p.last_reason or p.waiting,
                        p.exit_code, p.ready) for p in sorted(status, key=lambda x: x.name))
    exit_codes = tuple(sorted({p.exit_code for p in pods.values() if p.exit_code is not None}))
    reasons = tuple(sorted({p.last_reason for p in pods.values() if p.last_reason}))
    fail_events = fail_events_of(obs)
    first_failure = min([*restart_times, *(o.t for o in fail_events)], default=None)
    base = dict(restart_times_s=tuple(restart_times), restarts=n_restarts,
                restart_interval_s=(sum(intervals) / len(intervals)) if intervals else None,
                exit_codes=exit_codes, reasons=reasons, probe_message=probe_message(obs),
                events=events, pods=rows, timeline=tuple(timeline), watched_s=end)

    def evidence(**extra: object) -> Evidence:
        return Evidence(**{**base, "first_failure_s": first_failure, "notes": tuple(notes),
                           **extra})  # type: ignore[arg-type]

    created = [o for o in obs if o.source == "cluster"]
    if created:
        return Verdict.CLUSTER_FAILS, "kind-create", evidence(error=created[-1].message)
    infra = [o.message for o in obs if o.source == "infra"]
    crashloop = th.snapshot and n_restarts >= 1 and any(p.waiting == "CrashLoopBackOff"
                                                        for p in status)
    if n_restarts >= th.min_restarts or crashloop:
        subtype = _restart_subtype(pods, obs)
        notes.extend({"killed-exit-0": [KILL_NOTE], "killed-exit-137": [SIGTERM_IGNORED_NOTE],
                      "runtime-restarted": [UNKNOWN_255_NOTE]}.get(subtype, []))
        return Verdict.RESTARTS, subtype, evidence()
    if sum(reruns.values()) >= th.min_init_reruns:
        return Verdict.RESTARTS, "sandbox-recreated", evidence()
    stuck = _not_started(pods, fail_events, end, th.ready_grace_s)
    if stuck:
        mine = [o for o in fail_events if o.pod in {p.name for p in stuck}]
        reason = mine[-1].event_reason if mine else stuck[0].waiting
        return Verdict.NOT_STARTED, reason, evidence(error=mine[-1].message if mine else "")
    if infra and not status:
        return Verdict.UNKNOWN, "infrastructure", evidence(error=infra[-1])
    if not status:
        only = events_only(obs, th.min_init_reruns, th.snapshot_probe_failures)
        if only is not None:
            return only[0], only[1], evidence()
        return Verdict.UNKNOWN, "no-pods", evidence(error="no calico-node pod was observed")
    # A lost watch ends what we know: only what was seen before it may stand.
    seen_until = min((o.t for o in obs if o.source == "infra"), default=end)
    never = [p for p in status if not p.ever_ready]
    if never and seen_until >= th.ready_grace_s:
        probe = base["probe_message"]
        sub = "bird" if "BIRD is not ready" in " ".join(str(probe).split()) else "probe"
        return Verdict.NEVER_READY, sub, evidence(first_failure_s=th.ready_grace_s)
    lost = [t.t for t in timeline if t.kind == "not-ready" and t.t <= seen_until]
    if lost and any(p.ever_ready for p in status):
        return Verdict.FLAPPING, "readiness", evidence(first_failure_s=min(lost))
    if infra:
        # Whatever we did not see could have been a restart: no verdict about the config.
        return Verdict.UNKNOWN, "watch-lost", evidence(error=infra[-1])
    if never:
        return Verdict.UNKNOWN, "not-ready-yet", evidence(
            error=f"not Ready after {end:.0f}s, shorter than the {th.ready_grace_s:.0f}s grace")
    return Verdict.STABLE, "", evidence()


def can_stop_early(obs: list[Observation], thresholds: Thresholds | None = None) -> bool:
    """True once the cell can no longer become stable."""
    th = thresholds or Thresholds()
    if any(o.source == "cluster" for o in obs):
        return True
    pods, _ = _track(obs)
    if sum(p.restarts for p in pods.values()) >= th.early_restarts:
        return True
    # Stop early on a failure that will not heal by itself: a failed waiting reason, or
    # creation failures repeated over a span (one FailedMount while a pod starts is normal).
    fails = fail_events_of(obs)
    for p in pods.values():
        if p.running:
            continue
        if p.waiting in FAILED_WAITING:
            return True
        mine = [o.t for o in fails if o.pod == p.name]
        if (len(mine) >= th.early_not_started_events
                and mine[-1] - mine[0] >= th.early_not_started_span_s):
            return True
    return False


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
