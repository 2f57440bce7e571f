"""One stand-in kind cluster: nodes, the objects the controllers would create, the player.

The DaemonSet and Deployment controllers and the kubelet are reduced to what the
suite observes: one pod per node for a DaemonSet, pods that follow a scenario,
kubelet Events, container logs, and a DaemonSet status kept consistent with them.
"""

from __future__ import annotations

import copy
import heapq
import random
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .apistore import Obj, ResourceType, Store, now_iso
from .scenarios import SCENARIOS, EventSpec, Scenario, Step

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


class Cluster:
    def __init__(self, name: str, config: Obj, image: str, scenario: Scenario,
                 time_scale: float, stop: threading.Event, seed: int = 0) -> None:
        self.name, self.config, self.image, self.scenario = name, config, image, scenario
        self.time_scale = time_scale
        self.stop = stop
        self.t0_real = time.monotonic()
        self.t0_wall = time.time()
        self.store = Store(self.now)
        self.rng = random.Random(seed or hash(name))
        self.nodes = self._nodes(config)
        self.logs: dict[str, PodLogs] = {}
        self.failed = scenario.kind_create_fails
        self.lock = threading.RLock()
        self._heap: list[tuple[float, int, str, Step, int]] = []
        self._seq = 0
        self._player: threading.Thread | None = None
        self._wake = threading.Event()
        self.dropped_watches = 0
        self.default_runtime = "runc"  # named in the CRI-plugin failure of kind-create-fails
        if not self.failed:
            self._seed_objects()

    # --- time: timestamps run on scenario seconds, so intervals read like the real soak ---------
    def now(self) -> float:
        return self.t0_wall + (time.monotonic() - self.t0_real) / self.time_scale

    def real_due(self, scenario_s: float) -> float:
        return time.monotonic() + scenario_s * self.time_scale

    @property
    def kube_version(self) -> str:
        tag = self.image.split("@")[0].rsplit(":", 1)[-1]
        return tag if tag.startswith("v") else "v1.31.0"

    def _nodes(self, config: Obj) -> list[NodeInfo]:
        out: list[NodeInfo] = []
        counts: dict[str, int] = {}
        for i, spec in enumerate(config.get("nodes") or [{"role": "control-plane"}]):
            role = spec.get("role", "control-plane")
            counts[role] = counts.get(role, 0) + 1
            n = counts[role]
            name = f"{self.name}-{role}" + (str(n) if n > 1 else "")
            out.append(NodeInfo(name, role, f"172.18.0.{i + 2}",
                                {str(k): str(v) for k, v in (spec.get("labels") or {}).items()},
                                list(spec.get("kubeadmConfigPatches") or [])))
        return out

    def rtype(self, group: str, plural: str) -> ResourceType:
        return self.store.types[(group, plural)]

    def _seed_objects(self) -> None:
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease",
                   "local-path-storage"):
            self.store.put(self.rtype("", "namespaces"), {
                "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        for i, node in enumerate(self.nodes):
            labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                      "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": node.name,
                      "kubernetes.io/os": "linux", **node.labels}
            taints = []
            if node.role == "control-plane":
                labels["node-role.kubernetes.io/control-plane"] = ""
                taints = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
            ts = now_iso(self.now())
            self.store.put(self.rtype("", "nodes"), {
                "metadata": {"name": node.name, "labels": labels},
                "spec": {"podCIDR": f"10.244.{i}.0/24", "providerID": f"kind://docker/"
                         f"{self.name}/{node.name}", "taints": taints},
                "status": {
                    "addresses": [{"type": "InternalIP", "address": node.ip},
                                  {"type": "Hostname", "address": node.name}],
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                    "message": "kubelet is posting ready status",
                                    "lastHeartbeatTime": ts, "lastTransitionTime": ts}],
                    "nodeInfo": {"kubeletVersion": self.kube_version,
                                 "kubeProxyVersion": self.kube_version,
                                 "containerRuntimeVersion": "containerd://1.7.18",
                                 "osImage": "Debian GNU/Linux 12 (bookworm)",
                                 "operatingSystem": "linux", "architecture": "amd64",
                                 "kernelVersion": "6.8.0-45-generic",
                                 "bootID": self._cid()[:32], "machineID": self._cid()[:32],
                                 "systemUUID": self._cid()[:32]}}})

    # --- controllers --------------------------------------------------------------------------
    def after_write(self, rtype: ResourceType, obj: Obj) -> None:
        """React to an applied object the way the cluster's controllers would."""
        kind = rtype.kind
        if kind == "CustomResourceDefinition":
            self._establish_crd(obj)
        elif kind == "DaemonSet":
            self._daemonset(obj)
        elif kind == "Deployment":
            self._deployment(obj)

    def _establish_crd(self, crd: Obj) -> None:
        spec, names = crd.get("spec", {}), crd.get("spec", {}).get("names", {})
        for ver in spec.get("versions", []):
            if ver.get("served", True):
                self.store.add_type(ResourceType(
                    spec["group"], ver["name"], names["plural"], names["kind"],
                    spec.get("scope", "Namespaced") == "Namespaced",
                    tuple(names.get("shortNames", ())), ("status",) if (
                        ver.get("subresources") or {}).get("status") is not None else (),
                    tuple(names.get("categories", ()))))
        ts = now_iso(self.now())
        crd["status"] = {"acceptedNames": names, "storedVersions": [
            v["name"] for v in spec.get("versions", []) if v.get("storage")], "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": ts},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": ts}]}
        self.store.put(self.rtype("apiextensions.k8s.io", "customresourcedefinitions"), crd)

    def _suffix(self, n: int = 5) -> str:
        return "".join(self.rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(n))

    def _pods_of(self, owner_uid: str) -> list[Obj]:
        pods, _ = self.store.list(self.rtype("", "pods"))
        return [p for p in pods if any(r.get("uid") == owner_uid for r in
                                       p["metadata"].get("ownerReferences", []))]

    def _daemonset(self, ds: Obj) -> None:
        uid = ds["metadata"]["uid"]
        with self.lock:
            have = {p["spec"]["nodeName"] for p in self._pods_of(uid)}
            scripted = ds["metadata"]["name"] == CALICO_NODE
            for i, node in enumerate(self.nodes):
                if node.name not in have:
                    pod = self._new_pod(ds, f"{ds['metadata']['name']}-{self._suffix()}",
                                        node, scripted)
                    if scripted:
                        self._schedule_pod(pod["metadata"]["name"], offset=i * 0.7)
            if scripted:
                self._schedule_cluster_effects()
            self.refresh_daemonset(ds["metadata"]["namespace"], ds["metadata"]["name"])

    def _deployment(self, dep: Obj) -> None:
        uid, name = dep["metadata"]["uid"], dep["metadata"]["name"]
        with self.lock:
            want = int(dep.get("spec", {}).get("replicas", 1))
            have = len(self._pods_of(uid))
            rs_hash = "".join(self.rng.choice(string.hexdigits.lower()[:16]) for _ in range(10))
            for k in range(have, want):
                node = self.nodes[(k + 1) % len(self.nodes)]
                self._new_pod(dep, f"{name}-{rs_hash}-{self._suffix()}", node, False, ready=True)
            dep = self.store.get(self.rtype("apps", "deployments"),
                                 dep["metadata"]["namespace"], name) or dep
            ts = now_iso(self.now())
            dep["status"] = {"observedGeneration": dep["metadata"].get("generation", 1),
                             "replicas": want, "updatedReplicas": want, "readyReplicas": want,
                             "availableReplicas": want, "conditions": [
                                 {"type": "Available", "status": "True",
                                  "reason": "MinimumReplicasAvailable",
                                  "message": "Deployment has minimum availability.",
                                  "lastUpdateTime": ts, "lastTransitionTime": ts},
                                 {"type": "Progressing", "status": "True",
                                  "reason": "NewReplicaSetAvailable",
                                  "message": f'ReplicaSet "{name}-{rs_hash}" has successfully '
                                             "progressed.",
                                  "lastUpdateTime": ts, "lastTransitionTime": ts}]}
            self.store.put(self.rtype("apps", "deployments"), dep)

    def _new_pod(self, owner: Obj, name: str, node: NodeInfo, scripted: bool,
                 ready: bool = False) -> Obj:
        tmpl = copy.deepcopy(owner.get("spec", {}).get("template", {}))
        spec = tmpl.get("spec", {})
        spec["nodeName"] = node.name
        ns = owner["metadata"].get("namespace", "default")
        started = now_iso(self.now())
        pending = self.scenario.pending if scripted else ""
        init_statuses = [{
            "name": c["name"], "image": c.get("image", ""), "ready": not pending,
            "restartCount": 0, "imageID": "",
            "state": ({"waiting": {"reason": "PodInitializing"}} if pending else
                      {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                      "finishedAt": started,
                                      "containerID": f"containerd://{self._cid()}"}})}
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
        self._set_conditions(pod)
        pod = self.store.put(self.rtype("", "pods"), pod)
        self.logs[name] = PodLogs()
        self.emit(pod, EventSpec("Scheduled", f"Successfully assigned {ns}/{name} to {node.name}",
                                 "Normal", "default-scheduler"))
        return pod

    def _cid(self) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(64))

    def _container_status(self, c: Obj, pending: str, ready: bool) -> Obj:
        state: Obj = ({"waiting": {"reason": pending}} if pending else
                      {"running": {"startedAt": now_iso(self.now())}})
        st = {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": ready,
              "restartCount": 0, "started": not pending, "state": state, "lastState": {}}
        if not pending:
            st["containerID"] = f"containerd://{self._cid()}"
        return st

    def _set_conditions(self, pod: Obj) -> None:
        st = pod["status"]
        ready = all(c["ready"] for c in st["containerStatuses"])
        inited = all(c.get("ready") for c in st["initContainerStatuses"])
        ts = now_iso(self.now())
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

    def refresh_daemonset(self, ns: str, name: str) -> None:
        rt = self.rtype("apps", "daemonsets")
        ds = self.store.get(rt, ns, name)
        if ds is None:
            return
        pods = self._pods_of(ds["metadata"]["uid"])
        ready = sum(1 for p in pods if any(c["type"] == "Ready" and c["status"] == "True"
                                           for c in p["status"]["conditions"]))
        n = len(self.nodes)
        status = {"currentNumberScheduled": len(pods), "desiredNumberScheduled": n,
                  "numberMisscheduled": 0, "numberReady": ready, "numberAvailable": ready,
                  "updatedNumberScheduled": len(pods),
                  "observedGeneration": ds["metadata"].get("generation", 1)}
        if n - ready:
            status["numberUnavailable"] = n - ready
        if ds.get("status") != status:
            ds["status"] = status
            self.store.put(rt, ds)

    # --- events -------------------------------------------------------------------------------
    def emit(self, pod: Obj, ev: EventSpec, container: str = CALICO_NODE) -> None:
        meta = pod["metadata"]
        image = next((c.get("image", "") for c in pod["spec"].get("containers", [])
                      if c["name"] == container), "")
        msg = ev.message.format(pod=meta["name"], uid=meta["uid"], ns=meta["namespace"],
                                node=pod["spec"].get("nodeName", ""), image=image,
                                container=container)
        rt, ts = self.rtype("", "events"), now_iso(self.now())
        with self.lock:
            events, _ = self.store.list(rt, meta["namespace"])
            same = next((e for e in events if e["involvedObject"]["uid"] == meta["uid"]
                         and e["reason"] == ev.reason and e["message"] == msg), None)
            if same:  # the kubelet's event correlator aggregates repeats into a count
                same["count"] += 1
                same["lastTimestamp"] = ts
                self.store.put(rt, same)
                return
            involved: Obj = {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"],
                             "uid": meta["uid"], "apiVersion": "v1",
                             "resourceVersion": meta["resourceVersion"]}
            if ev.component == "kubelet":
                involved["fieldPath"] = f"spec.containers{{{container}}}"
            host = pod["spec"].get("nodeName", "") if ev.component == "kubelet" else ""
            self.store.put(rt, {
                "metadata": {"name": f"{meta['name']}.{self._cid()[:16]}",
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

    def _schedule_pod(self, pod: str, offset: float) -> None:
        for step in self.scenario.steps:
            self._push(self.real_due(offset + step.at), pod, step, -1)
        if self.scenario.cycle and self.scenario.period > 0:
            for step in self.scenario.cycle:
                self._push(self.real_due(offset + step.at), pod, step, 0)
        self._ensure_player()

    def _schedule_cluster_effects(self) -> None:
        sc = self.scenario
        if sc.drop_watches_at is not None:
            self._push(self.real_due(sc.drop_watches_at), "", Step(at=0.0, waiting="drop"), -1)
        if sc.compact_at is not None:
            self._push(self.real_due(sc.compact_at), "", Step(at=0.0, waiting="compact"), -1)
        self._ensure_player()

    def _ensure_player(self) -> None:
        if self._player is None:
            self._player = threading.Thread(target=self._play, name=f"standin-{self.name}",
                                            daemon=True)
            self._player.start()

    def _play(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                due = self._heap[0][0] if self._heap else None
            if due is None:
                return  # nothing left to play (cycles are bounded by max_cycles)
            delay = due - time.monotonic()
            if delay > 0:
                self._wake.clear()
                self.stop.wait(min(delay, 0.5))
                continue
            with self.lock:
                _, _, pod, step, cycle = heapq.heappop(self._heap)
                if not pod:
                    self.cluster_effect(step.waiting)
                    continue
                if cycle >= 0 and cycle + 1 < self.scenario.max_cycles:
                    self._push(due + self.scenario.period * self.time_scale, pod, step, cycle + 1)
                if cycle < 0 or cycle % step.every == 0:
                    self.apply_step(pod, step)

    def cluster_effect(self, what: str) -> None:
        if what == "compact":
            self.store.compact()
        elif what == "drop":
            self.dropped_watches += 1
            self.store.cut()

    def apply_step(self, name: str, step: Step) -> None:
        rt = self.rtype("", "pods")
        pod = self.store.get(rt, "kube-system", name)
        if pod is None:
            return
        st = next((c for c in pod["status"]["containerStatuses"] if c["name"] == CALICO_NODE),
                  pod["status"]["containerStatuses"][0])
        logs = self.logs.setdefault(name, PodLogs())
        node = pod["spec"]["nodeName"]
        fmt: dict[str, Any] = {"node": node, "pod": name}
        stamp = now_iso(self.now()).replace("T", " ").rstrip("Z")
        logs.current += [f"{stamp}.000 {line.format(**fmt)}" if line.startswith("[")
                         else line.format(**fmt) for line in step.log]
        if step.terminated:
            t = step.terminated
            started = (st["state"].get("running") or {}).get("startedAt", now_iso(self.now()))
            st["lastState"] = {"terminated": {
                "exitCode": t.exit_code, "reason": t.reason, "startedAt": started,
                "finishedAt": now_iso(self.now()), "containerID": st.get("containerID", "")}}
            logs.previous = logs.current + [f"{stamp}.000 {line}" for line in t.log]
            logs.current = []
            st["restartCount"] += 1
            st["ready"] = False
            st["state"] = {"waiting": {"reason": "ContainerCreating"}}
        if step.running:
            st["state"] = {"running": {"startedAt": now_iso(self.now())}}
            st["containerID"] = f"containerd://{self._cid()}"
            st["started"] = True
        if step.waiting:
            meta = pod["metadata"]
            msg = step.waiting_message.format(container=st["name"], pod=name, ns=meta["namespace"],
                                              uid=meta["uid"], image=st["image"])
            st["state"] = {"waiting": {"reason": step.waiting, **({"message": msg} if msg else {})}}
            st["started"] = False
        if step.ready is not None:
            st["ready"] = step.ready and "running" in st["state"]
        self._set_conditions(pod)
        pod = self.store.put(rt, pod)
        for ev in step.events:
            self.emit(pod, ev, st["name"])
        owner = pod["metadata"]["ownerReferences"][0]["name"]
        self.refresh_daemonset("kube-system", owner)


def scenario_for(config: Obj, scenarios: dict[str, str], default: str) -> Scenario:
    """The cell label's scenario, else the variant label's, else the default."""
    nodes = config.get("nodes") or []
    for key in ("calico-conformance.io/cell", "calico-conformance.io/variant"):
        for node in nodes:
            value = str((node.get("labels") or {}).get(key, ""))
            if value in scenarios:
                return SCENARIOS[scenarios[value]]
    return SCENARIOS[default]
