"""One stand-in kind cluster: its nodes, API objects and controllers.

The DaemonSet and Deployment controllers are reduced to what the suite observes:
one pod per node for a DaemonSet, and a DaemonSet status kept consistent with the
pods that the :class:`~.player.Player` runs through their scenario.
"""

from __future__ import annotations

import random
import string
import threading
import time

from .apistore import Obj, ResourceType, Store, now_iso
from .player import CALICO_NODE, NodeInfo, Player, PodLogs
from .scenarios import SCENARIOS, Scenario

__all__ = ["CALICO_NODE", "Cluster", "NodeInfo", "PodLogs", "scenario_for"]


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
        self.player = Player(self)
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
                                 "bootID": self.cid()[:32], "machineID": self.cid()[:32],
                                 "systemUUID": self.cid()[:32]}}})

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
                    pod = self.player.new_pod(ds, f"{ds['metadata']['name']}-{self._suffix()}",
                                              node, scripted)
                    if scripted:
                        self.player.schedule_pod(pod["metadata"]["name"], offset=i * 0.7)
            if scripted:
                self.player.schedule_cluster_effects()
            self.refresh_daemonset(ds["metadata"]["namespace"], ds["metadata"]["name"])

    def _deployment(self, dep: Obj) -> None:
        uid, name = dep["metadata"]["uid"], dep["metadata"]["name"]
        with self.lock:
            want = int(dep.get("spec", {}).get("replicas", 1))
            have = len(self._pods_of(uid))
            rs_hash = "".join(self.rng.choice(string.hexdigits.lower()[:16]) for _ in range(10))
            for k in range(have, want):
                node = self.nodes[(k + 1) % len(self.nodes)]
                self.player.new_pod(dep, f"{name}-{rs_hash}-{self._suffix()}", node, False,
                                    ready=True)
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

    def cid(self) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(64))

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


def scenario_for(config: Obj, scenarios: dict[str, str], default: str) -> Scenario:
    """The cell label's scenario, else the variant label's, else the default."""
    nodes = config.get("nodes") or []
    for key in ("calico-conformance.io/cell", "calico-conformance.io/variant"):
        for node in nodes:
            value = str((node.get("labels") or {}).get(key, ""))
            if value in scenarios:
                return SCENARIOS[scenarios[value]]
    return SCENARIOS[default]
