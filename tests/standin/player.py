"""The node side of a stand-in cluster: what its kubelets report, as a scenario scripts it.

Pods, container statuses, conditions, Events and logs are reduced to what the suite
observes; one player thread per cluster applies the scenario's timed steps (and its
cluster-level effects) so the API shows them at the pace a real soak would.
"""

from __future__ import annotations

import copy
import heapq
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .apistore import Obj, now_iso
from .scenarios import EventSpec, Step

if TYPE_CHECKING:
    from .cluster import Cluster

CALICO_NODE = "calico-node"


@dataclass
class NodeInfo:
    name: str
    role: str  # control-plane / worker
    ip: str
    labels: dict[str, str]
    kubeadm_patches: list[str] = field(default_factory=list)


@dataclass
class PodLogs:
    current: list[str] = field(default_factory=list)
    previous: list[str] | None = None


class Player:
    """Pods on the cluster's nodes, and the thread that plays the scenario over them."""

    def __init__(self, cluster: Cluster) -> None:
        self.c = cluster
        self._heap: list[tuple[float, int, str, Step, int]] = []
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()

    # --- pods ---------------------------------------------------------------------------------
    def new_pod(self, owner: Obj, name: str, node: NodeInfo, scripted: bool,
                ready: bool = False) -> Obj:
        tmpl = copy.deepcopy(owner.get("spec", {}).get("template", {}))
        spec = tmpl.get("spec", {})
        spec["nodeName"] = node.name
        ns = owner["metadata"].get("namespace", "default")
        started = now_iso(self.c.now())
        pending = self.c.scenario.pending if scripted else ""
        init_statuses = [{
            "name": c["name"], "image": c.get("image", ""), "ready": not pending,
            "restartCount": 0, "imageID": "",
            "state": ({"waiting": {"reason": "PodInitializing"}} if pending else
                      {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                      "finishedAt": started,
                                      "containerID": f"containerd://{self.c.cid()}"}})}
            for c in spec.get("initContainers", [])]
        statuses = [self._container_status(c, pending, ready) for c in spec.get("containers", [])]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": name, "namespace": ns,
            "labels": dict(tmpl.get("metadata", {}).get("labels", {})),
            "annotations": dict(tmpl.get("metadata", {}).get("annotations", {})),
            "generateName": name[:-5], "ownerReferences": [{
                "apiVersion": owner.get("apiVersion", "apps/v1"), "kind": owner["kind"],
                "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
                "controller": True, "blockOwnerDeletion": True}]},
            "spec": spec, "status": {
                "phase": "Pending" if pending else "Running", "hostIP": node.ip,
                "hostIPs": [{"ip": node.ip}], "startTime": started, "qosClass": "Burstable",
                "initContainerStatuses": init_statuses, "containerStatuses": statuses}}
        if spec.get("hostNetwork") and not pending:
            pod["status"]["podIP"] = node.ip
            pod["status"]["podIPs"] = [{"ip": node.ip}]
        self.set_conditions(pod)
        pod = self.c.store.put(self.c.rtype("", "pods"), pod)
        self.c.logs[name] = PodLogs()
        self.emit(pod, EventSpec("Scheduled", f"Successfully assigned {ns}/{name} to {node.name}",
                                 "Normal", "default-scheduler"))
        return pod

    def _container_status(self, c: Obj, pending: str, ready: bool) -> Obj:
        state: Obj = ({"waiting": {"reason": pending}} if pending else
                      {"running": {"startedAt": now_iso(self.c.now())}})
        st = {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": ready,
              "restartCount": 0, "started": not pending, "state": state, "lastState": {}}
        if not pending:
            st["containerID"] = f"containerd://{self.c.cid()}"
        return st

    def set_conditions(self, pod: Obj) -> None:
        st = pod["status"]
        ready = all(c["ready"] for c in st["containerStatuses"])
        inited = all(c.get("ready") for c in st["initContainerStatuses"])
        ts = now_iso(self.c.now())
        old = {c["type"]: c for c in st.get("conditions", [])}

        def cond(kind: str, ok: bool) -> Obj:
            value = "True" if ok else "False"
            prev = old.get(kind)
            since = prev["lastTransitionTime"] if prev and prev["status"] == value else ts
            out = {"type": kind, "status": value, "lastProbeTime": None,
                   "lastTransitionTime": since}
            if not ok and kind in ("Ready", "ContainersReady"):
                out["reason"] = "ContainersNotReady"
                names = [c["name"] for c in st["containerStatuses"] if not c["ready"]]
                out["message"] = f"containers with unready status: [{' '.join(names)}]"
            return out
        st["conditions"] = [cond("PodReadyToStartContainers", st["phase"] == "Running"),
                            cond("Initialized", inited), cond("Ready", ready),
                            cond("ContainersReady", ready), cond("PodScheduled", True)]

    # --- events -------------------------------------------------------------------------------
    def emit(self, pod: Obj, ev: EventSpec, container: str = CALICO_NODE) -> None:
        meta = pod["metadata"]
        image = next((c.get("image", "") for c in pod["spec"].get("containers", [])
                      if c["name"] == container), "")
        msg = ev.message.format(pod=meta["name"], uid=meta["uid"], ns=meta["namespace"],
                                node=pod["spec"].get("nodeName", ""), image=image,
                                container=container)
        rt, ts = self.c.rtype("", "events"), now_iso(self.c.now())
        with self.c.lock:
            events, _ = self.c.store.list(rt, meta["namespace"])
            same = next((e for e in events if e["involvedObject"]["uid"] == meta["uid"]
                         and e["reason"] == ev.reason and e["message"] == msg), None)
            if same:  # the kubelet's event correlator aggregates repeats into a count
                same["count"] += 1
                same["lastTimestamp"] = ts
                self.c.store.put(rt, same)
                return
            involved: Obj = {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"],
                             "uid": meta["uid"], "apiVersion": "v1",
                             "resourceVersion": meta["resourceVersion"]}
            if ev.component == "kubelet":
                involved["fieldPath"] = f"spec.containers{{{container}}}"
            host = pod["spec"].get("nodeName", "") if ev.component == "kubelet" else ""
            self.c.store.put(rt, {
                "metadata": {"name": f"{meta['name']}.{self.c.cid()[:16]}",
                             "namespace": meta["namespace"]},
                "involvedObject": involved, "reason": ev.reason, "message": msg,
                "source": {"component": ev.component, **({"host": host} if host else {})},
                "firstTimestamp": ts, "lastTimestamp": ts, "count": 1, "type": ev.type,
                "eventTime": None, "reportingComponent": ev.component,
                "reportingInstance": host})

    # --- the player ---------------------------------------------------------------------------
    def _push(self, due: float, pod: str, step: Step, cycle: int) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, pod, step, cycle))
        self._wake.set()

    def schedule_pod(self, pod: str, offset: float) -> None:
        for step in self.c.scenario.steps:
            self._push(self.c.real_due(offset + step.at), pod, step, -1)
        if self.c.scenario.cycle and self.c.scenario.period > 0:
            for step in self.c.scenario.cycle:
                self._push(self.c.real_due(offset + step.at), pod, step, 0)
        self._ensure_thread()

    def schedule_cluster_effects(self) -> None:
        sc = self.c.scenario
        if sc.drop_watches_at is not None:
            self._push(self.c.real_due(sc.drop_watches_at), "", Step(at=0.0, waiting="drop"), -1)
        if sc.compact_at is not None:
            self._push(self.c.real_due(sc.compact_at), "", Step(at=0.0, waiting="compact"), -1)
        self._ensure_thread()

    def _ensure_thread(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._play, name=f"standin-{self.c.name}",
                                            daemon=True)
            self._thread.start()

    def _play(self) -> None:
        while not self.c.stop.is_set():
            with self.c.lock:
                due = self._heap[0][0] if self._heap else None
            if due is None:
                return  # nothing left to play (cycles are bounded by max_cycles)
            delay = due - time.monotonic()
            if delay > 0:
                self._wake.clear()
                self.c.stop.wait(min(delay, 0.5))
                continue
            with self.c.lock:
                _, _, pod, step, cycle = heapq.heappop(self._heap)
                if not pod:
                    self.cluster_effect(step.waiting)
                    continue
                if cycle >= 0 and cycle + 1 < self.c.scenario.max_cycles:
                    self._push(due + self.c.scenario.period * self.c.time_scale, pod, step,
                               cycle + 1)
                if cycle < 0 or cycle % step.every == 0:
                    self.apply_step(pod, step)

    def cluster_effect(self, what: str) -> None:
        if what == "compact":
            self.c.store.compact()
        elif what == "drop":
            self.c.dropped_watches += 1
            self.c.store.cut()

    def apply_step(self, name: str, step: Step) -> None:
        rt = self.c.rtype("", "pods")
        pod = self.c.store.get(rt, "kube-system", name)
        if pod is None:
            return
        st = next((c for c in pod["status"]["containerStatuses"] if c["name"] == CALICO_NODE),
                  pod["status"]["containerStatuses"][0])
        logs = self.c.logs.setdefault(name, PodLogs())
        node = pod["spec"]["nodeName"]
        fmt: dict[str, Any] = {"node": node, "pod": name}
        stamp = now_iso(self.c.now()).replace("T", " ").rstrip("Z")
        logs.current += [f"{stamp}.000 {line.format(**fmt)}" if line.startswith("[")
                         else line.format(**fmt) for line in step.log]
        if step.terminated:
            t = step.terminated
            started = (st["state"].get("running") or {}).get("startedAt", now_iso(self.c.now()))
            st["lastState"] = {"terminated": {
                "exitCode": t.exit_code, "reason": t.reason, "startedAt": started,
                "finishedAt": now_iso(self.c.now()), "containerID": st.get("containerID", "")}}
            logs.previous = logs.current + [f"{stamp}.000 {line}" for line in t.log]
            logs.current = []
            st["restartCount"] += 1
            st["ready"] = False
            st["state"] = {"waiting": {"reason": "ContainerCreating"}}
        if step.running:
            st["state"] = {"running": {"startedAt": now_iso(self.c.now())}}
            st["containerID"] = f"containerd://{self.c.cid()}"
            st["started"] = True
        if step.waiting:
            meta = pod["metadata"]
            msg = step.waiting_message.format(container=st["name"], pod=name, ns=meta["namespace"],
                                              uid=meta["uid"], image=st["image"])
            st["state"] = {"waiting": {"reason": step.waiting, **({"message": msg} if msg else {})}}
            st["started"] = False
        if step.ready is not None:
            st["ready"] = step.ready and "running" in st["state"]
        if step.sandbox_recreated:  # the kubelet runs the init containers again
            for init in pod["status"]["initContainerStatuses"]:
                init["restartCount"] += 1
        self.set_conditions(pod)
        pod = self.c.store.put(rt, pod)
        for ev in step.events:
            self.emit(pod, ev, st["name"])
        owner = pod["metadata"]["ownerReferences"][0]["name"]
        self.c.refresh_daemonset("kube-system", owner)


