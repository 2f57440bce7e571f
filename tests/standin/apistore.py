"""Objects, one global resourceVersion, watch history and discovery for one cluster.

Like etcd behind the apiserver: every write bumps a cluster-wide resourceVersion,
history is kept down to a compaction horizon, and a watch from before the
horizon is answered with 410 Expired (``too old resource version: N (M)``, the
watch cache's wording in k8s.io/apiserver/pkg/storage/cacher/watch_cache.go).
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

Obj = dict[str, Any]
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def discovery(self) -> list[Obj]:
        main: Obj = {"name": self.plural, "singularName": self.singular,
                     "namespaced": self.namespaced, "kind": self.kind, "verbs": list(ALL_VERBS)}
        if self.short:
            main["shortNames"] = list(self.short)
        if self.categories:
            main["categories"] = list(self.categories)
        out = [main]
        for sub in self.subresources:
            verbs = ["get"] if sub == "log" else ["get", "patch", "update"]
            kind = "Pod" if sub == "log" else self.kind
            out.append({"name": f"{self.plural}/{sub}", "singularName": "",
                        "namespaced": self.namespaced, "kind": kind, "verbs": verbs})
        return out


BUILTIN = (
    ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",), ("status",)),
    ResourceType("", "v1", "nodes", "Node", False, ("no",), ("status",)),
    ResourceType("", "v1", "pods", "Pod", True, ("po",), ("log", "status"), ("all",)),
    ResourceType("", "v1", "events", "Event", True, ("ev",)),
    ResourceType("", "v1", "services", "Service", True, ("svc",), ("status",), ("all",)),
    ResourceType("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    ResourceType("", "v1", "secrets", "Secret", True),
    ResourceType("", "v1", "endpoints", "Endpoints", True, ("ep",)),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), ("status",), ("all",)),
    ResourceType("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("status",),
                 ("all",)),
    ResourceType("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("status",), ("all",)),
    ResourceType("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ("pdb",),
                 ("status",)),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding",
                 False),
    ResourceType("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ResourceType("apiextensions.k8s.io", "v1", "customresourcedefinitions",
                 "CustomResourceDefinition", False, ("crd", "crds"), ("status",)),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
    ResourceType("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ("sc",)),
)


def now_iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Gone(Exception):
    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")


def _path(obj: Obj, dotted: str) -> str:
    cur: Any = obj
    for part in dotted.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return "" if cur is None else str(cur)


def selector_matcher(labels: str, fields: str) -> Callable[[Obj], bool]:
    """Equality/existence label selectors and dotted-path field selectors."""
    checks: list[Callable[[Obj], bool]] = []
    for term in filter(None, (t.strip() for t in labels.split(","))):
        checks.append(_label_term(term))
    for term in filter(None, (t.strip() for t in fields.split(","))):
        checks.append(_field_term(term))
    return lambda o: all(c(o) for c in checks)


def _field_term(term: str) -> Callable[[Obj], bool]:
    neg = "!=" in term
    key, _, want = term.partition("!=" if neg else "=")
    key, want = key.strip(), want.lstrip("=").strip()
    return lambda o: (_path(o, key) == want) != neg


def _label_term(term: str) -> Callable[[Obj], bool]:
    def lab(o: Obj) -> dict[str, str]:
        return dict((o.get("metadata") or {}).get("labels") or {})
    if "!=" in term:
        k, v = (x.strip() for x in term.split("!=", 1))
        return lambda o: lab(o).get(k) != v
    if "=" in term:
        k, v = (x.strip() for x in term.replace("==", "=").split("=", 1))
        return lambda o: lab(o).get(k) == v
    if " in " in term or " notin " in term:
        neg = " notin " in term
        k, _, rest = term.partition(" notin " if neg else " in ")
        vals = {x.strip() for x in rest.strip().strip("()").split(",")}
        return lambda o: (lab(o).get(k.strip()) in vals) != neg
    if term.startswith("!"):
        return lambda o: term[1:] not in lab(o)
    return lambda o: term in lab(o)


@dataclass
class Record:
    rv: int
    rtype: ResourceType
    etype: str
    obj: Obj


class Store:
    """Thread-safe object store; ``clock()`` gives the timestamps written into objects."""

    HISTORY = 20000

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.cond = threading.Condition()
        self.rv = 100
        self.horizon = self.rv  # watches from before this RV get 410
        self.types: dict[tuple[str, str], ResourceType] = {(t.group, t.plural): t for t in BUILTIN}
        self.objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        self.history: deque[Record] = deque()
        self.epoch = 0  # bumped to end open watch streams cleanly
        self.cuts = 0  # bumped to cut open watch streams abruptly

    # --- discovery ----------------------------------------------------------------------------
    def resolve(self, group: str, version: str, plural: str) -> ResourceType | None:
        t = self.types.get((group, plural))
        return t if t and t.version == version else None

    def group_versions(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for t in self.types.values():
            if t.version not in out.setdefault(t.group, []):
                out[t.group].append(t.version)
        return out

    def resources(self, group: str, version: str) -> list[ResourceType]:
        return [t for t in self.types.values() if t.group == group and t.version == version]

    def add_type(self, rtype: ResourceType) -> None:
        self.types[(rtype.group, rtype.plural)] = rtype

    # --- reads --------------------------------------------------------------------------------
    def get(self, rtype: ResourceType, ns: str, name: str) -> Obj | None:
        with self.cond:
            obj = self.objects.get((rtype.group, rtype.plural), {}).get((ns, name))
            return copy.deepcopy(obj) if obj else None

    def list(self, rtype: ResourceType, ns: str = "",
             match: Callable[[Obj], bool] = lambda o: True) -> tuple[list[Obj], int]:
        with self.cond:
            items = [copy.deepcopy(o) for (ons, _), o in
                     sorted(self.objects.get((rtype.group, rtype.plural), {}).items())
                     if (not ns or ons == ns) and match(o)]
            return items, self.rv

    # --- writes -------------------------------------------------------------------------------
    def put(self, rtype: ResourceType, obj: Obj) -> Obj:
        """Create or replace; system metadata is kept or filled in."""
        with self.cond:
            meta = obj.setdefault("metadata", {})
            ns = meta.get("namespace", "") if rtype.namespaced else ""
            bucket = self.objects.setdefault((rtype.group, rtype.plural), {})
            old = bucket.get((ns, meta["name"]))
            self.rv += 1
            if old is None:
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", now_iso(self.clock()))
            else:
                for key in ("uid", "creationTimestamp"):
                    meta[key] = old["metadata"][key]
            meta["resourceVersion"] = str(self.rv)
            obj.setdefault("apiVersion", rtype.group_version)
            obj.setdefault("kind", rtype.kind)
            bucket[(ns, meta["name"])] = obj
            self._record(Record(self.rv, rtype, "ADDED" if old is None else "MODIFIED", obj))
            return copy.deepcopy(obj)

    def delete(self, rtype: ResourceType, ns: str, name: str) -> Obj | None:
        with self.cond:
            obj = self.objects.get((rtype.group, rtype.plural), {}).pop((ns, name), None)
            if obj is None:
                return None
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._record(Record(self.rv, rtype, "DELETED", obj))
            return copy.deepcopy(obj)

    def _record(self, rec: Record) -> None:
        self.history.append(Record(rec.rv, rec.rtype, rec.etype, copy.deepcopy(rec.obj)))
        while len(self.history) > self.HISTORY:
            self.horizon = self.history.popleft().rv
        self.cond.notify_all()

    def compact(self, bump: int = 5) -> int:
        """Drop all history, as an etcd compaction past every client's RV would."""
        with self.cond:
            self.rv += bump  # other resources (leases, ...) keep being written meanwhile
            self.horizon = self.rv
            self.history.clear()
            self.epoch += 1  # watches end cleanly, like at their timeout; reconnects get 410
            self.cond.notify_all()
            return self.horizon

    def cut(self) -> None:
        """Make every open watch stream end without its terminating chunk."""
        with self.cond:
            self.cuts += 1
            self.cond.notify_all()

    # --- watch --------------------------------------------------------------------------------
    def watch(self, rtype: ResourceType, ns: str, since: int | None,
              match: Callable[[Obj], bool], deadline: float, stop: threading.Event,
              bookmark_every: float = 0.0,
              monotonic: Callable[[], float] = lambda: 0.0) -> Iterator[tuple[str, Obj]]:
        """Yield (type, object) from ``since`` on; ``since=None`` starts with ADDED for all."""
        with self.cond:
            epoch, cuts = self.epoch, self.cuts
            if since is None:
                items, last = self.list(rtype, ns, match)
                initial = [("ADDED", o) for o in items]
            else:
                if since < self.horizon:
                    raise Gone(since, self.horizon)
                initial, last = [], since
        yield from initial
        next_bookmark = monotonic() + bookmark_every
        while not stop.is_set():
            with self.cond:
                if self.epoch != epoch or self.cuts != cuts:
                    return
                if last < self.horizon:  # compacted under us
                    return
                batch = [r for r in self.history if r.rv > last and r.rtype == rtype
                         and (not ns or r.obj["metadata"].get("namespace", "") == ns)
                         and match(r.obj)]
                newest = self.rv
                if not batch:
                    remaining = deadline - monotonic()
                    if remaining <= 0:
                        return
                    self.cond.wait(min(remaining, 0.2))
            for rec in batch:
                yield rec.etype, copy.deepcopy(rec.obj)
                last = rec.rv
            if not batch and bookmark_every and monotonic() >= next_bookmark:
                last = max(last, newest)
                yield "BOOKMARK", {"kind": rtype.kind, "apiVersion": rtype.group_version,
                                   "metadata": {"resourceVersion": str(last)}}
                next_bookmark = monotonic() + bookmark_every
            elif batch:
                last = max(last, batch[-1].rv)
