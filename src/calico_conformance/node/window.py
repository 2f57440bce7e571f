"""The observation window: kubelet syncs, exec probes, pod churn, and node disturbances.

One loop on the clock seam. Each tick does whatever is due: the PLEG-like status poll
(1 s, as the kubelet's relist), the pod sync (existence check, :class:`PodWorker`), the
exec probes at their manifest period, one sibling pod through its life (churn), and,
once each, ``systemctl daemon-reload`` and a containerd restart, after which the
container must still be the same running process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clock import Clock
from ..errors import ConformanceError
from .cgroups import NodeCgroups
from .judge import NodeObservation, judge_window
from .kubelet import PodWorker, churn_once
from .lifecycle import Node
from .pods import CriCallError, Pods
from .prober import Worker

if TYPE_CHECKING:
    from .cell import NodeSettings

RELIST_S = 1.0  # the kubelet's PLEG relist period
CRI_BACK_TIMEOUT_S = 30.0
MAX_EVENT_NOTES = 40


def watch(node: Node, pods: Pods, cg: NodeCgroups, worker: PodWorker,
          settings: NodeSettings, obs: NodeObservation) -> None:
    clock = settings.clock
    start = clock.monotonic()
    _placement(pods, cg, worker, obs)
    probers = [Worker(spec) for spec in settings.probes]
    started_at = start
    due_probe = {id(w): start + w.spec.initial_delay_s for w in probers}
    due_sync, due_relist = start + settings.sync_s, start + RELIST_S
    disturbances = ([(start + settings.window_s / 3, "daemon-reload"),
                     (start + 2 * settings.window_s / 3, "containerd-restart")]
                    if settings.disturb else [])
    lost = ""
    while True:
        now = clock.monotonic()
        obs.watched_s = round(now - start, 2)
        if now - start >= settings.window_s:
            break
        try:
            if disturbances and now >= disturbances[0][0]:
                lost = _disturb(node, pods, worker, disturbances.pop(0)[1], clock, obs)
                if lost:
                    break
            if now >= due_sync:
                due_sync = now + settings.sync_s
                if worker.sync() is not None:
                    started_at = clock.monotonic()
                if settings.churn:
                    obs.notes.append(f"t={worker.t():.1f}s {churn_once(pods, cg)}")
            elif now >= due_relist:
                due_relist = now + RELIST_S
                if not pods.status(worker.cid).running and worker.sync() is not None:
                    started_at = clock.monotonic()
            for w in probers:
                if w.on_hold and clock.monotonic() > started_at:
                    w.new_container() if worker.log.restarts else None
                if w.on_hold or now < due_probe[id(w)]:
                    continue
                due_probe[id(w)] = now + w.spec.period_s
                res = pods.exec_sync(worker.cid, list(w.spec.command), w.spec.timeout_s, clock)
                if w.record(res):
                    worker.kill_container("liveness", f"liveness probe failed "
                                          f"{w.spec.failure_threshold}x: {res.output[:80]}")
                    started_at = clock.monotonic()
                    for other in probers:
                        other.new_container()
                        due_probe[id(other)] = started_at + other.spec.initial_delay_s
        except CriCallError as exc:
            obs.notes.append(f"t={worker.t():.1f}s CRI call failed: {exc}")
            if not node.containerd_alive():
                lost = f"containerd stopped during the window: {exc}"
                break
        nxt = min([due_sync, due_relist, *due_probe.values(),
                   *(t for t, _ in disturbances)], default=now + RELIST_S)
        clock.sleep(max(0.05, min(nxt - clock.monotonic(), RELIST_S)))
    obs.kills = list(worker.log.kills)
    obs.init_runs, obs.sandboxes = worker.log.init_runs, len(worker.log.sandboxes)
    events = worker.log.events
    obs.notes += events[:MAX_EVENT_NOTES] + ([f"... {len(events) - MAX_EVENT_NOTES} more"]
                                             if len(events) > MAX_EVENT_NOTES else [])
    obs.notes += [w.summary() for w in probers]
    if not probers:
        obs.notes.append("no exec probes (no Calico manifest given)")
    judge_window(obs, lost)


def _placement(pods: Pods, cg: NodeCgroups, worker: PodWorker, obs: NodeObservation) -> None:
    """Where containerd and runc really put the container (the node's /proc/<pid>/cgroup)."""
    pid = pods.status(worker.cid).pid
    where = cg.placement(pid) if pid else {}
    inside = cg.inside_pod(pid, worker.pod) if pid else {}
    for ctrl in ("memory", "pids", "systemd"):
        if ctrl in where:
            obs.placement[f"cgroup_{ctrl}"] = where[ctrl]
    obs.placement["pod_cgroup_parent"] = worker.pod.parent
    obs.placement["in_pod_cgroup"] = ",".join(f"{c}={'yes' if v else 'no'}"
                                              for c, v in sorted(inside.items()))
    obs.notes.append(f"container landed in {where.get('memory', '?')} (memory); inside the "
                     f"pod cgroup: {obs.placement['in_pod_cgroup'] or 'unknown'}")


def _disturb(node: Node, pods: Pods, worker: PodWorker, what: str, clock: Clock,
             obs: NodeObservation) -> str:
    """Do ``what`` to the node; note whether the container survived; "" or why CRI is lost."""
    before = pods.status(worker.cid)
    if what == "daemon-reload":
        rc, out = node.exec("systemctl", "daemon-reload", timeout=60)
    else:
        rc, out = node.exec("systemctl", "restart", "containerd.service", timeout=90)
    deadline = clock.monotonic() + CRI_BACK_TIMEOUT_S
    after = None
    while clock.monotonic() < deadline:
        try:
            after = pods.status(worker.cid)
            break
        except (CriCallError, ConformanceError):
            clock.sleep(0.5)
    if after is None:
        return f"CRI did not answer within {CRI_BACK_TIMEOUT_S:.0f}s after {what} ({out})"
    same = after.running and after.pid == before.pid
    missing = worker.cg.missing(worker.pod)
    obs.notes.append(f"t={worker.t():.1f}s {what} (rc {rc}): container "
                     f"{'survived (same pid)' if same else f'did not survive: {after.state}'}"
                     f"; pod cgroup {'missing: ' + missing[0] if missing else 'present'}")
    return ""
