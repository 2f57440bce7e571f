"""The observation window: kubelet syncs, exec probes, pod churn, and node disturbances.

One loop on the clock seam. Each tick does whatever is due: the PLEG-like status poll
(1 s, as the kubelet's relist), the kubelet's periodic ``UpdateQOSCgroups`` (its own
1 min period), the pod sync (existence check, :class:`PodWorker`), the
exec probes at their manifest period, one sibling pod through its life (churn), and,
once each, ``systemctl daemon-reload`` and a containerd restart, after which the
container must still be the same running process.
"""

from __future__ import annotations

from ..clock import Clock
from ..cri.client import CriClient
from ..errors import ConformanceError, CriCallError, StepFailed
from ..observe import StepRecord
from ..settings import NodeSettings
from .backend import Node
from .cgroups import QOS_PERIOD_S, NodeCgroups
from .kubelet import PodWorker, churn_once
from .nodeutils import containerd_alive
from .prober import ProbeSpec, Worker

RELIST_S = 1.0  # the kubelet's PLEG relist period
CRI_BACK_TIMEOUT_S = 30.0
MAX_EVENT_NOTES = 40


def watch(node: Node, cri: CriClient, cg: NodeCgroups, worker: PodWorker,
          settings: NodeSettings, probes: tuple[ProbeSpec, ...], rec: StepRecord,
          placement: dict[str, str], window_s: float | None = None) -> None:
    """Run the window and record what it saw; a lost containerd is the ``cri`` step's
    failure (raised once everything seen is recorded)."""
    clock = node.clock
    window = window_s or settings.window_s
    start = clock.monotonic()
    _placement(cri, cg, worker, rec, placement)
    probers = [Worker(spec) for spec in probes]
    started_at = start
    due_probe = {id(w): start + w.spec.initial_delay_s for w in probers}
    due_sync, due_relist = start + settings.sync_s, start + RELIST_S
    due_qos = start + QOS_PERIOD_S  # the kubelet's periodic UpdateQOSCgroups
    disturbances = ([(start + window / 3, "daemon-reload"),
                     (start + 2 * window / 3, "containerd-restart")]
                    if settings.disturb else [])
    lost = ""
    while True:
        now = clock.monotonic()
        rec.watched_s = round(now - start, 2)
        if now - start >= window:
            break
        try:
            if disturbances and now >= disturbances[0][0]:
                lost = _disturb(node, worker, disturbances.pop(0)[1], clock, rec)
                if lost:
                    break
            if now >= due_qos:
                due_qos = now + QOS_PERIOD_S
                cg.update_qos()
                worker.event("kubelet: periodic UpdateQOSCgroups (besteffort CPU weight set)")
            if now >= due_sync:
                due_sync = now + settings.sync_s
                if worker.sync() is not None:
                    started_at = clock.monotonic()
                if settings.churn:
                    rec.notes.append(f"t={worker.t():.1f}s {churn_once(cri, cg)}")
            elif now >= due_relist:
                due_relist = now + RELIST_S
                if not worker.status(worker.cid).running and worker.sync() is not None:
                    started_at = clock.monotonic()
            for w in probers:
                if w.on_hold and clock.monotonic() > started_at:
                    w.new_container() if worker.log.restarts else None
                if w.on_hold or now < due_probe[id(w)]:
                    continue
                due_probe[id(w)] = now + w.spec.period_s
                res = cri.exec_sync(worker.cid, list(w.spec.command), w.spec.timeout_s, clock)
                if w.record(res):
                    worker.kill_container("liveness", f"liveness probe failed "
                                          f"{w.spec.failure_threshold}x: {res.output[:80]}")
                    started_at = clock.monotonic()
                    for other in probers:
                        other.new_container()
                        due_probe[id(other)] = started_at + other.spec.initial_delay_s
        except CriCallError as exc:
            rec.notes.append(f"t={worker.t():.1f}s CRI call failed: {exc}")
            if not containerd_alive(node):
                lost = f"containerd stopped during the window: {exc}"
                break
        nxt = min([due_sync, due_relist, due_qos, *due_probe.values(),
                   *(t for t, _ in disturbances)], default=now + RELIST_S)
        clock.sleep(max(0.05, min(nxt - clock.monotonic(), RELIST_S)))
    rec.kills = list(worker.log.kills)
    rec.init_runs, rec.sandboxes = worker.log.init_runs, len(worker.log.sandboxes)
    events = worker.log.events
    rec.notes += events[:MAX_EVENT_NOTES] + ([f"... {len(events) - MAX_EVENT_NOTES} more"]
                                             if len(events) > MAX_EVENT_NOTES else [])
    rec.notes += [w.summary() for w in probers]
    if not probers:
        rec.notes.append("no exec probes (no Calico manifest given)")
    if lost:
        raise StepFailed("cri", lost)
    rec.completed = True


def _placement(cri: CriClient, cg: NodeCgroups, worker: PodWorker, rec: StepRecord,
               placement: dict[str, str]) -> None:
    """Where containerd and runc really put the container (the node's /proc/<pid>/cgroup)."""
    pid = worker.status(worker.cid).pid
    where = cg.placement(pid) if pid else {}
    inside = cg.inside_pod(pid, worker.pod) if pid else {}
    for ctrl in ("memory", "pids", "systemd", "unified"):
        if ctrl in where:
            placement[f"cgroup_{ctrl}"] = where[ctrl]
    placement["pod_cgroup_parent"] = worker.pod.parent
    placement["in_pod_cgroup"] = ",".join(f"{c}={'yes' if v else 'no'}"
                                          for c, v in sorted(inside.items()))
    landed = (f"{where['memory']} (memory)" if "memory" in where
              else f"{where.get('unified', '?')} (unified)")
    rec.notes.append(f"container landed in {landed}; inside the "
                     f"pod cgroup: {placement['in_pod_cgroup'] or 'unknown'}")
    if inside and not all(inside.values()):
        rec.misplaced = (f"the container runs outside its pod cgroup: it landed in {landed}, "
                         f"the kubelet made {worker.pod.parent} "
                         f"({placement['in_pod_cgroup']})")


def _disturb(node: Node, worker: PodWorker, what: str, clock: Clock, rec: StepRecord) -> str:
    """Do ``what`` to the node; note whether the container survived; "" or why CRI is lost."""
    before = worker.status(worker.cid)
    if what == "daemon-reload":
        rc, out = node.exec("systemctl", "daemon-reload", timeout=60)
    else:
        rc, out = node.exec("systemctl", "restart", "containerd.service", timeout=90)
    deadline = clock.monotonic() + CRI_BACK_TIMEOUT_S
    after = None
    while clock.monotonic() < deadline:
        try:
            after = worker.status(worker.cid)
            break
        except (CriCallError, ConformanceError):
            clock.sleep(0.5)
    if after is None:
        return f"CRI did not answer within {CRI_BACK_TIMEOUT_S:.0f}s after {what} ({out})"
    same = after.running and after.pid == before.pid
    missing = worker.cg.missing(worker.pod)
    rec.notes.append(f"t={worker.t():.1f}s {what} (rc {rc}): container "
                     f"{'survived (same pid)' if same else f'did not survive: {after.state}'}"
                     f"; pod cgroup {'missing: ' + missing[0] if missing else 'present'}")
    return ""
