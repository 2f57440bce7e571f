"""The one verdict engine: every verdict class is assigned here, from what a tier observed.

:func:`judge` reads an observation log (kind, a paste). Classes, in order of
precedence: ``cluster-fails`` (kind create failed), ``not-started``
(sandbox/container creation or image pulls failed), ``restarts``, ``never-ready``,
``flapping``, ``stable``. :func:`judge_steps` reads a probe or node cell's
:class:`~.observe.StepRecord`: the step that failed gives its class
(:data:`STEP_VERDICTS`), then the kubelet's kills. ``unknown`` is kept for trouble on
our side and never reported as a property of the config.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from .calico import CALICO_NODE
from .model import CellResult, EventSummary, Evidence, Outcome, PodRow, TimelinePoint, Verdict
from .observe import Kill, Observation, StepRecord
from .tracker import PodState, Thresholds, Tracker, not_started_pods
from .verdict_events import (
    KEY_EVENTS,
    event_summaries,
    events_only,
    fail_events_of,
    probe_message,
    readiness_failures_after_start,
)
from .verdict_notes import (
    INIT_BACKOFF_NOTE,
    INIT_NOTE,
    KILL_NOTE,
    SANDBOX_NOTE,
    SIGTERM_IGNORED_NOTE,
    SNAPSHOT_NOTE,
    UNCOUNTED_NOTE,
    UNKNOWN_255_NOTE,
)


def _ended(reasons: set[str], codes: set[int | None]) -> str | None:
    """The restarts subtype a container's Last State (reason, exit code) tells, if any."""
    if "OOMKilled" in reasons:
        return "oom-killed"
    if 0 in codes or "Completed" in reasons:
        return "killed-exit-0"
    if 137 in codes:
        return "killed-exit-137"
    if 255 in codes and "Unknown" in reasons:
        return "runtime-restarted"
    return None


def _restart_subtype(pods: dict[str, PodState], obs: list[Observation]) -> str:
    reasons = {p.last_reason for p in pods.values() if p.restarts}
    codes = {p.exit_code for p in pods.values() if p.restarts}
    crashloop = any(o.reason == "CrashLoopBackOff" for o in obs if o.source == "pod"
                    and not o.init)
    ended = _ended(reasons, codes)
    if ended:
        return ended
    if crashloop:
        return "crashloop-backoff"
    # A pasted table shows a restart count, but neither reason nor exit code.
    return "error-exit" if reasons - {""} or codes - {None} else "cause-not-shown"


def judge(obs: list[Observation], thresholds: Thresholds | None = None,
          watched_s: float | None = None) -> tuple[Verdict, str, Evidence]:
    """Classify a cell (or a pasted snapshot, with ``Thresholds(snapshot=True)``)."""
    th = thresholds or Thresholds()
    tracked = Tracker(snapshot=th.snapshot).feed(obs)
    pods, timeline = tracked.pods, list(tracked.timeline)
    events = event_summaries(obs)
    for o in obs:
        if o.source == "event" and o.event_reason in KEY_EVENTS and o.app == CALICO_NODE:
            timeline.append(TimelinePoint(o.t, "event", o.pod, f"{o.event_reason}: {o.message}"))
    timeline.sort(key=lambda p: p.t)
    end = watched_s if watched_s is not None else max((o.t for o in obs), default=0.0)
    restart_times = sorted(t for p in pods.values() for t in p.restart_times)
    n_restarts = sum(p.restarts for p in pods.values())
    intervals = [b - a for a, b in pairwise(restart_times)]
    # An init container in back-off re-runs because it fails, not because the sandbox was
    # re-created: its count is its own crash loop (handled below), not a sandbox signal.
    reruns = {f"{c} x{n} on {p.name}": n for p in pods.values()
              for c, n in sorted(p.init_reruns.items()) if n > 0 and c != p.init_backoff}
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
    # In a snapshot a bare count of one may be a reboot weeks ago; a back-off, or the
    # previous termination shown (its reason and exit code), is the restart the paste shows.
    conclusive = th.snapshot and n_restarts >= 1 and any(
        p.waiting == "CrashLoopBackOff" or (p.restarts and p.last_reason
                                            and th.shown_termination_counts) for p in status)
    notes += [UNCOUNTED_NOTE.format(pod=p.name, reason=p.last_reason, code=p.exit_code)
              for p in status if p.uncounted]
    if n_restarts >= th.min_restarts or conclusive:
        subtype = _restart_subtype(pods, obs)
        notes.extend({"killed-exit-0": [KILL_NOTE], "killed-exit-137": [SIGTERM_IGNORED_NOTE],
                      "runtime-restarted": [UNKNOWN_255_NOTE]}.get(subtype, []))
        return Verdict.RESTARTS, subtype, evidence()
    backoff = [f"{p.init_backoff} on {p.name}" for p in pods.values() if p.init_backoff]
    if backoff:
        notes.append(INIT_BACKOFF_NOTE.format(containers=", ".join(backoff)))
        return Verdict.RESTARTS, "crashloop-backoff", evidence()
    if sum(reruns.values()) >= th.min_init_reruns:
        return Verdict.RESTARTS, "sandbox-recreated", evidence()
    stuck = not_started_pods(pods, fail_events, end, th.ready_grace_s,
                             th.early_not_started_events if th.snapshot else 0)
    if stuck:
        mine = [o for o in fail_events if o.pod in {p.name for p in stuck}]
        reason = mine[-1].event_reason if mine else stuck[0].waiting
        return Verdict.NOT_STARTED, reason, evidence(error=mine[-1].message if mine else "")
    if infra and not status:
        return Verdict.UNKNOWN, "infrastructure", evidence(error=infra[-1])
    if not status:
        only = events_only(obs, th.min_init_reruns, th.snapshot_probe_failures,
                           th.min_restarts)
        if only is not None:
            return only[0], only[1], evidence()
        return Verdict.UNKNOWN, "no-pods", evidence(error="no calico-node pod was observed")
    lost_nodes = [p.name for p in status if p.waiting in ("NodeLost", "Unknown")]
    if lost_nodes:
        return Verdict.UNKNOWN, "node-lost", evidence(
            error=f"{', '.join(lost_nodes[:3])}: its node stopped reporting (NodeLost): the "
                  "status shown is the last one the node sent, not the pod's state now")
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
    after_start = readiness_failures_after_start(obs, th.probe_period_s, th.ready_grace_s)
    if th.snapshot and after_start and all(p.ready for p in status):
        notes.append(f"Ready at the paste, but its readiness probe failed {after_start} times, "
                     "longer than start-up takes: it lost its readiness after being Ready")
        return Verdict.FLAPPING, "readiness", evidence()
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


# A probe or node cell's steps, in order, and the class each gives when it fails.
STEP_VERDICTS = {
    "config": Verdict.CONFIG_REJECTED,  # containerd would not start on the config
    "cri": Verdict.CRI_UNAVAILABLE,  # CRI never ready, or lost during the window
    "sandbox": Verdict.SANDBOX_FAILS,  # RunPodSandbox
    "container": Verdict.CONTAINER_FAILS,  # CreateContainer/StartContainer
    "exit": Verdict.CONTAINER_EXITS,  # the container ended by itself
}
# What a misplaced container does, by cgroup version (observed: docs/observed/v2-node-table,
# where the same configs were killed Completed/0 on v2 nodes and stayed up on v1 nodes).
MISPLACED_V1 = ("on this cgroup v1 node the kubelet's pod-cgroup check still passes, so the "
                "kill is not triggered; on cgroup v2 the same config is killed, Completed, "
                "exit 0, again and again (observed: docs/observed/v2-node-table)")
MISPLACED_V2 = ("on cgroup v2 the kubelet kills it once its periodic QoS update makes systemd "
                "drop cpuset from the empty pod slice (60 s period); this window saw no kill "
                "yet (observed kills: docs/observed/v2-node-table)")
# Which kubelet path killed, most telling first (pkg/kubelet/kubelet.go SyncPod's pod
# cgroup check, then the prober's liveness kill).
KILL_ORDER = ("pod-cgroup-missing", "liveness")


def describe_kills(kills: list[Kill], init_runs: int, sandboxes: int) -> str:
    first = kills[0]
    ends = ", ".join(sorted({f"exit {k.exit_code} {k.reason or '?'}" for k in kills}))
    return (f"{len(kills)} kill(s) ({first.why}) from t={first.t:.1f}s, ended {ends}; "
            f"init containers ran {init_runs}x, {sandboxes} sandbox(es); first: {first.detail}")


def _kill_subtype(kills: list[Kill]) -> str:
    """The restarts subtype ``kubectl describe`` would show (Last State), as :func:`judge`
    names it for a watched or pasted pod."""
    codes: set[int | None] = {k.exit_code for k in kills}
    return _ended({k.reason for k in kills}, codes) or "error-exit"


def _kill_evidence(kills: list[Kill], rec: StepRecord) -> dict[str, object]:
    """What the kubelet would have published about the kills: restart times and interval,
    the SandboxChanged and Killing events, the init container's re-runs."""
    times = tuple(k.t for k in kills)
    gaps = [b - a for a, b in pairwise(times)]
    events = [EventSummary("Killing", f"Stopping container calico-node ({kills[0].why})",
                           len(kills))]
    notes = [f"the kubelet's path: {kills[0].why} ({kills[0].detail})"]
    if rec.sandboxes > 1:
        events.insert(0, EventSummary("SandboxChanged", "Pod sandbox changed, it will be "
                                      "killed and re-created.", rec.sandboxes - 1))
        notes.append(SANDBOX_NOTE)
    if rec.init_runs > 1:
        notes.append(INIT_NOTE.format(detail=f"install-cni x{rec.init_runs - 1} on "
                                             f"{CALICO_NODE}"))
    return dict(restart_times_s=times, first_failure_s=times[0], events=tuple(events),
                restart_interval_s=sum(gaps) / len(gaps) if gaps else None, notes=notes)


def judge_steps(rec: StepRecord) -> tuple[Verdict, str, Evidence]:
    """A probe or node cell's verdict, subtype and evidence."""
    base = dict(watched_s=rec.watched_s, restarts=len(rec.kills),
                exit_codes=tuple(k.exit_code for k in rec.kills) or rec.exit_codes,
                reasons=tuple(k.reason for k in rec.kills))

    def evidence(error: str = "", notes: tuple[str, ...] = (), **extra: object) -> Evidence:
        return Evidence(**{**base, "error": error, "notes": (*rec.notes, *notes),  # type: ignore[arg-type]
                           **extra})

    if rec.trouble:
        return Verdict.UNKNOWN, rec.trouble_subtype, evidence(rec.trouble)
    failed = rec.failure
    if failed is not None:
        verdict = STEP_VERDICTS[failed.step]
        if failed.explained:  # the host's doing: a statement about this machine only
            return (Verdict.UNKNOWN, "host-explained",
                    evidence(failed.explained, (f"would be {verdict.value}: {failed.error}",)))
        return verdict, failed.subtype, evidence(failed.error)
    for why in KILL_ORDER:
        kills = [k for k in rec.kills if k.why == why]
        if kills:
            subtype = _kill_subtype(kills)
            extra = _kill_evidence(kills, rec)
            notes = [*extra.pop("notes"), *([KILL_NOTE] if subtype == "killed-exit-0" else [])]  # type: ignore[misc]
            return Verdict.RESTARTS, subtype, evidence(
                describe_kills(kills, rec.init_runs, rec.sandboxes), tuple(notes), **extra)
    exits = [k for k in rec.kills if k.why == "exited"]
    if exits:
        return Verdict.CONTAINER_EXITS, "", evidence(
            describe_kills(exits, rec.init_runs, rec.sandboxes))
    if not rec.completed:
        return Verdict.UNKNOWN, "", evidence("the cell stopped before its window ended")
    if rec.misplaced:  # up, but where the kubelet's pod-cgroup check cannot see it
        v2 = rec.facts.get("cgroup") == "v2"
        return Verdict.MISPLACED, "", evidence(rec.misplaced, (
            MISPLACED_V2 if v2 else MISPLACED_V1,))
    return Verdict.STABLE, "", evidence()


def kill_signature(rec: StepRecord) -> bool:
    """The original report's signature: a kubelet kill (not an exit of its own) that ended
    Completed/exit 0, with the sandbox re-created and the init container run again."""
    return (any(k.why == "pod-cgroup-missing" and k.exit_code == 0 for k in rec.kills)
            and rec.sandboxes > 1 and rec.init_runs > 1)
