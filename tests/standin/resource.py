"""One request against one resource type: Status errors, reads, watches and writes.

Split from the routing in :mod:`.server` so each verb's apiserver semantics
(generation bumps, managedFields, 410 Expired, log selection) read in one place.
"""

from __future__ import annotations

import copy
import json
import socket
import time
from typing import TYPE_CHECKING

import jsonpatch
import yaml

from calico_conformance.containerd import merge_patch

from .apistore import BUILTIN, Gone, Obj, ResourceType, now_iso, selector_matcher

if TYPE_CHECKING:
    from .server import Api

MAX_WATCH_S = 300.0  # an unbounded watch would outlive the test


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                     "message": message, "reason": reason, "details": details or {}, "code": code}
        if details is None:
            del self.body["details"]
        self.code = code


def _details(rt: ResourceType, name: str) -> Obj:
    d: Obj = {"name": name, "kind": rt.plural}
    if rt.group:
        d["group"] = rt.group
    return d


def not_found(rt: ResourceType, name: str) -> ApiError:
    what = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
    return ApiError(404, "NotFound", f'{what} "{name}" not found', _details(rt, name))


class Resource:
    def __init__(self, api: Api, rt: ResourceType, ns: str, name: str, sub: str,
                 q: dict[str, str]) -> None:
        self.api, self.rt, self.ns, self.name, self.sub, self.q = api, rt, ns, name, sub, q
        self.store = api.c.store

    @property
    def label(self) -> str:
        return f"{self.rt.plural}/{self.sub}" if self.sub else self.rt.plural

    def handle(self, method: str, body: bytes) -> None:
        h = self.api.h
        if method == "GET" and not self.name:
            watch = self.q.get("watch") in ("true", "1")
            self.api.count("watch" if watch else "list", self.label)
            self.watch() if watch else h._send(200, self.list())
            return
        verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}[method]
        self.api.count(verb, self.label)
        if method == "GET" and self.sub == "log":
            h._send(200, self.logs(), "text/plain")
        elif method == "GET":
            h._send(200, self.get())
        elif method == "POST" and not self.name:
            h._send(201, self.create(_load(body)))
        elif method == "PUT" and self.name:
            h._send(200, self.write(_load(body), replace=True))
        elif method == "PATCH" and self.name:
            h._send(200, self.patch(body, h.headers.get("Content-Type", "")))
        elif method == "DELETE" and self.name:
            h._send(200, self.delete())
        else:
            raise ApiError(405, "MethodNotAllowed",
                           "the server does not allow this method on the requested resource", {})

    # --- reads --------------------------------------------------------------------------------
    def get(self) -> Obj:
        obj = self.store.get(self.rt, self.ns, self.name)
        if obj is None:
            raise not_found(self.rt, self.name)
        return obj

    def list(self) -> Obj:
        rv = self.q.get("resourceVersion", "")
        if self.q.get("resourceVersionMatch") == "Exact" and rv and int(rv) < self.store.horizon:
            raise ApiError(410, "Expired", "The resourceVersion for the provided list is too old.")
        match = selector_matcher(self.q.get("labelSelector", ""), self.q.get("fieldSelector", ""))
        items, latest = self.store.list(self.rt, self.ns, match)
        if self.rt in BUILTIN:
            for it in items:  # built-in lists carry kind/apiVersion only on the list
                it.pop("kind", None)
                it.pop("apiVersion", None)
        return {"kind": f"{self.rt.kind}List", "apiVersion": self.rt.group_version,
                "metadata": {"resourceVersion": str(latest)}, "items": items}

    def watch(self) -> None:
        h, c = self.api.h, self.api.c
        rv = self.q.get("resourceVersion", "")
        since = int(rv) if rv not in ("", "0") else None
        timeout = float(self.q.get("timeoutSeconds") or MAX_WATCH_S)
        match = selector_matcher(self.q.get("labelSelector", ""), self.q.get("fieldSelector", ""))
        bookmarks = self.q.get("allowWatchBookmarks") in ("true", "1")
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        cuts = self.store.cuts
        events = self.store.watch(self.rt, self.ns, since, match,
                                  time.monotonic() + min(timeout, MAX_WATCH_S), self.api.state.stop,
                                  max(0.5, 60 * c.time_scale) if bookmarks else 0.0, time.monotonic)
        try:
            for etype, obj in events:
                self._chunk({"type": etype, "object": obj})
        except Gone as exc:
            self._chunk({"type": "ERROR", "object": ApiError(410, "Expired", str(exc), None).body})
        if self.store.cuts != cuts:  # watch-drop: no terminating chunk, just a dead socket
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        h.wfile.write(b"0\r\n\r\n")

    def _chunk(self, event: Obj) -> None:
        data = json.dumps(event).encode() + b"\n"
        self.api.h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.api.h.wfile.flush()

    def logs(self) -> str:
        pod = self.get()
        names = [c["name"] for c in pod["spec"].get("containers", [])]
        container = self.q.get("container") or (names[0] if len(names) == 1 else "")
        if not container:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod "
                                              f"{self.name}, choose one of: [{' '.join(names)}]")
        if container not in names:
            raise ApiError(400, "BadRequest",
                           f"container {container} is not valid for pod {self.name}")
        logs = self.api.c.logs.get(self.name)
        if self.q.get("previous") in ("true", "1"):
            if logs is None or logs.previous is None:
                raise ApiError(400, "BadRequest", f'previous terminated container "{container}" '
                                                  f'in pod "{self.name}" not found')
            lines = logs.previous
        else:
            st = next(s for s in pod["status"]["containerStatuses"] if s["name"] == container)
            waiting = st["state"].get("waiting")
            if waiting and not st.get("containerID"):
                raise ApiError(400, "BadRequest", f'container "{container}" in pod "{self.name}" '
                                                  f'is waiting to start: {waiting["reason"]}')
            lines = logs.current if logs else []
        tail = self.q.get("tailLines")
        if tail:
            lines = lines[-int(tail):] if int(tail) else []
        return "".join(line + "\n" for line in lines)

    # --- writes -------------------------------------------------------------------------------
    def create(self, obj: Obj) -> Obj:
        name = (obj.get("metadata") or {}).get("name", "")
        if not name:
            raise ApiError(422, "Invalid", f"{self.rt.kind} \"\" is invalid: metadata.name: "
                                           "Required value: name or generateName is required")
        self.name = name
        if self.store.get(self.rt, self._ns(obj), name) is not None:
            what = f"{self.rt.plural}.{self.rt.group}" if self.rt.group else self.rt.plural
            raise ApiError(409, "AlreadyExists", f'{what} "{name}" already exists',
                           _details(self.rt, name))
        return self.write(obj, replace=True)

    def _ns(self, obj: Obj) -> str:
        if not self.rt.namespaced:
            return ""
        return self.ns or (obj.get("metadata") or {}).get("namespace") or "default"

    def patch(self, body: bytes, ctype: str) -> Obj:
        ctype = ctype.split(";")[0].strip()
        if ctype == "application/apply-patch+yaml":
            if not self.q.get("fieldManager"):
                raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: '
                                               "fieldManager: Required value: is required for "
                                               "apply patch")
            return self.write(_load(body), replace=False, manager=self.q["fieldManager"])
        old = self.get()
        try:
            if ctype == "application/json-patch+json":
                new = jsonpatch.apply_patch(old, json.loads(body))
            elif ctype in ("application/merge-patch+json",
                           "application/strategic-merge-patch+json"):
                new = merge_patch(old, json.loads(body))
            else:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an "
                                                            "unknown format - accepted media "
                                                            "types include: application/json-patch"
                                                            "+json, application/merge-patch+json, "
                                                            "application/apply-patch+yaml")
        except (ValueError, jsonpatch.JsonPatchException) as exc:
            raise ApiError(400, "BadRequest", str(exc)) from exc
        return self.write(new, replace=True, manager=self.q.get("fieldManager", ""))

    def write(self, obj: Obj, *, replace: bool, manager: str = "") -> Obj:
        rt, c = self.rt, self.api.c
        meta = obj.setdefault("metadata", {})
        if obj.get("kind") not in (None, rt.kind) or obj.get("apiVersion") not in (
                None, rt.group_version):
            raise ApiError(400, "BadRequest", f"the API version in the data "
                                              f"({obj.get('apiVersion')}) does not match the "
                                              f"expected API version ({rt.group_version})")
        if self.name and meta.get("name", self.name) != self.name:
            raise ApiError(400, "BadRequest", f"the name of the object ({meta.get('name')}) does "
                                              f"not match the name on the URL ({self.name})")
        meta["name"] = self.name
        ns = self._ns(obj)
        if rt.namespaced:
            if self.store.get(c.rtype("", "namespaces"), "", ns) is None:
                raise ApiError(404, "NotFound", f'namespaces "{ns}" not found',
                               {"name": ns, "kind": "namespaces"})
            meta["namespace"] = ns
        old = self.store.get(rt, ns, self.name)
        if self.sub == "status" and old is not None:
            old["status"] = obj.get("status", old.get("status"))
            obj = old
        elif old is not None:
            if not replace or "status" not in obj:
                obj["status"] = old.get("status")
                if obj["status"] is None:
                    obj.pop("status")
            changed = _spec(old) != _spec(obj)
            meta["generation"] = old["metadata"].get("generation", 1) + (1 if changed else 0)
        else:
            meta["generation"] = 1
        if manager:
            mf = [m for m in (old or {}).get("metadata", {}).get("managedFields", [])
                  if m.get("manager") != manager]
            mf.append({"manager": manager, "operation": "Apply" if not replace else "Update",
                       "apiVersion": rt.group_version, "time": now_iso(c.now()),
                       "fieldsType": "FieldsV1", "fieldsV1": {}})
            meta["managedFields"] = mf
        stored = self.store.put(rt, obj)
        c.after_write(rt, stored)
        return self.store.get(rt, ns, self.name) or stored

    def delete(self) -> Obj:
        c = self.api.c
        obj = self.store.delete(self.rt, self.ns, self.name)
        if obj is None:
            raise not_found(self.rt, self.name)
        uid = obj["metadata"]["uid"]
        for rt in list(self.store.types.values()):  # namespace contents and owned pods go too
            if self.rt.kind == "Namespace" and rt.namespaced:
                for it in self.store.list(rt, self.name)[0]:
                    self.store.delete(rt, self.name, it["metadata"]["name"])
        if self.rt.kind in ("DaemonSet", "Deployment"):
            for pod in c._pods_of(uid):
                self.store.delete(c.rtype("", "pods"), pod["metadata"]["namespace"],
                                  pod["metadata"]["name"])
        return obj


def _spec(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _load(body: bytes) -> Obj:
    try:
        obj = yaml.safe_load(body.decode() or "{}")  # JSON is YAML
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ApiError(400, "BadRequest", f"error decoding YAML: {exc}") from exc
    if not isinstance(obj, dict):
        raise ApiError(400, "BadRequest", "Object 'Kind' is missing in request body")
    return copy.deepcopy(obj)
