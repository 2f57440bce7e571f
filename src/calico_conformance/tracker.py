"""What the soak knows so far, kept up to date one observation at a time.

The soak loop asks after every batch whether a cell can still become stable; re-deriving
that from the whole log each time grew as O(n²) with the log. A :class:`Tracker` folds
each observation in once, so a long soak of many nodes costs the same per batch at the
end as at the start. :func:`calico_conformance.verdict.judge` uses the same fold, for a
watch and for a pasted snapshot alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from .calico import CALICO_NODE
from .model import TimelinePoint
from .observe import Observation
from .verdict_events import is_fail_event

# Waiting reasons that are failures by themselves (an image pull on a slow link is not).
FAILED_WAITING = {"ErrImagePull", "ImagePullBackOff", "CreateContainerError",
                  "CreateContainerConfigError", "InvalidImageName", "RunContainerError"}
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
    # Snapshot: a previous termination shown (reason, exit code) makes one restart count, as
    # a back-off does; an explicit --max-restarts turns it off (the user set the tolerance).
    shown_termination_counts: bool = True
    # The kubelet probes every periodSeconds: 10 s is the API default (k8s.io/api core/v1
    # Probe.periodSeconds) and calico.yaml's. N failures take at least N-1 periods.
    probe_period_s: float = 10.0


# Thresholds for a snapshot (``analyze``), documented in the README ("Judging pasted output"):
# a restart count covers the pod's whole life, so one restart (often a node reboot weeks ago)
# is not a loop; two, or one while the kubelet backs off (CrashLoopBackOff) or with its
# previous termination shown (the kubelet fills Last State only after a restart), is. Readiness: a
# pod not Ready at the paste and older than the grace is never-ready (its history is unknown).
SNAPSHOT = Thresholds(min_restarts=2, snapshot=True)


@dataclass
class PodState:
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
    uncounted: bool = False  # restarted (a previous termination shown), count not pasted
    first_init: dict[str, int] = field(default_factory=dict)  # init container: first count
    init_reruns: dict[str, int] = field(default_factory=dict)  # init container: re-runs seen
    init_backoff: str = ""  # an init container waiting in CrashLoopBackOff


@dataclass
class Tracker:
    """Pods, their timeline, creation failures and a failed kind create, folded in order."""

    snapshot: bool = False
    pods: dict[str, PodState] = field(default_factory=dict)
    timeline: list[TimelinePoint] = field(default_factory=list)
    fail_times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cluster_failed: bool = False
    restarts: int = 0

    def feed(self, obs: Iterable[Observation]) -> Tracker:
        for o in obs:
            self._one(o)
        return self

    def _one(self, o: Observation) -> None:
        if o.source == "cluster":
            self.cluster_failed = True
        if is_fail_event(o):
            self.fail_times[o.pod].append(o.t)
        if o.source != "pod" or o.app != CALICO_NODE:
            return
        if o.init:
            self._init(self.pods.setdefault(o.pod, PodState(o.pod)), o)
            return
        if o.container not in ("", CALICO_NODE):
            return
        p = self.pods.setdefault(o.pod, PodState(o.pod))
        p.node, p.seen = o.node or p.node, True
        if o.restart_count is not None:
            if p.first_restarts is None:
                p.first_restarts = 0 if self.snapshot else o.restart_count
            new = max(o.restart_count - p.first_restarts - p.restarts, 0)
            p.restarts += new
            self.restarts += new
            # A count without times (a snapshot) draws no points; a watch draws one per
            # restart, bounded so a corrupt count cannot run away with the memory.
            for _ in range(0 if self.snapshot else min(new, MAX_POINTS)):
                p.restart_times.append(o.t)
                detail = o.last_reason + (f", exit {o.last_exit_code}"
                                          if o.last_exit_code is not None else "")
                self.timeline.append(TimelinePoint(o.t, "restart", o.pod, detail))
        if o.restart_count is None and o.last_reason and self.snapshot and not p.restarts:
            # The kubelet fills lastState only from the container's previous instance
            # (kubelet_pods.go, convertToAPIContainerStatuses): a previous termination in a
            # paste cut above its Restart Count line is a restart all the same.
            p.restarts, p.uncounted = 1, True
            self.restarts += 1
        if o.last_reason:
            p.last_reason, p.exit_code = o.last_reason, o.last_exit_code
        if o.state == "terminated" and o.reason:
            p.last_reason, p.exit_code = o.reason, o.exit_code
        p.running = p.running or o.state == "running"
        p.waiting = o.reason if o.state == "waiting" else ""
        ready = bool(o.ready)
        if ready != p.ready:
            self.timeline.append(TimelinePoint(o.t, "ready" if ready else "not-ready", o.pod))
            if ready and p.lost_ready:
                p.regained += 1
            if not ready and p.ever_ready:
                p.lost_ready = True
        p.ready = ready
        p.ever_ready = p.ever_ready or ready

    def _init(self, p: PodState, o: Observation) -> None:
        """Init containers run again only when the sandbox is re-created: count re-runs.
        One that fails is re-run in back-off, and the pod stays in Init until it succeeds."""
        if o.state == "waiting" and o.reason == "CrashLoopBackOff":
            p.init_backoff = o.container or "an init container"
        if o.restart_count is None:
            return
        first = p.first_init.setdefault(o.container, 0 if self.snapshot else o.restart_count)
        p.init_reruns[o.container] = max(p.init_reruns.get(o.container, 0),
                                         o.restart_count - first)

    def summary(self) -> tuple[int, int, int]:
        """Restarts so far, pods Ready now, pods seen: for progress lines."""
        return self.restarts, sum(p.ready for p in self.pods.values()), len(self.pods)

    def can_stop_early(self, th: Thresholds) -> bool:
        """True once the cell can no longer become stable."""
        if self.cluster_failed or self.restarts >= th.early_restarts:
            return True
        # Stop early on a failure that will not heal by itself: a failed waiting reason, or
        # creation failures repeated over a span (one FailedMount while a pod starts is normal).
        for p in self.pods.values():
            if p.running:
                continue
            if p.waiting in FAILED_WAITING:
                return True
            mine = self.fail_times.get(p.name, [])
            if (len(mine) >= th.early_not_started_events
                    and mine[-1] - mine[0] >= th.early_not_started_span_s):
                return True
        return False


SLOW_WAITING = {"ContainerCreating", "PodInitializing"}


def not_started_pods(pods: dict[str, PodState], fails: list[Observation], end: float,
                     grace_s: float, repeated: int = 0) -> list[PodState]:
    """Pods that never ran and have a reason to believe they will not: a failure to create
    or pull, past the grace or (``repeated``, a snapshot of unknown age) that many times."""
    failed_pods = {o.pod for o in fails}
    counts: dict[str, int] = {}
    for o in fails:
        counts[o.pod] = counts.get(o.pod, 0) + max(o.count, 1)
    return [p for p in pods.values() if p.seen and not p.running and (
        p.waiting in FAILED_WAITING
        or (repeated and counts.get(p.name, 0) >= repeated)
        or (end >= grace_s and (p.name in failed_pods or p.waiting in SLOW_WAITING)))]
