"""The HTTP side: a kube-apiserver subset under ``/clusters/<name>``, and the CLI bridge.

Wire formats follow the real apiserver: Status objects for errors, APIVersions /
APIGroupList / APIResourceList discovery, server-side apply via
``application/apply-patch+yaml``, and watches as chunked newline-delimited JSON
``{"type", "object"}`` events (k8s.io/apimachinery/pkg/watch). This module routes a
URL to a cluster and a resource type; the verbs themselves are in :mod:`.resource`.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import fakedocker, fakekind
from .apistore import Obj
from .cluster import Cluster
from .registry import State
from .resource import ApiError, Resource


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, state: State) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = state
        state.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                       name="standin-apiserver", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.state.stop.set()
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- plumbing -----------------------------------------------------------------------------
    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code: int, body: Any, ctype: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method: str) -> None:
        state = self.server.state
        self.wfile = _Counting(self.wfile, state, self.path)
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self._body()
        try:
            if url.path == "/_standin/cli" and method == "POST":
                self._cli(json.loads(body))
                return
            parts = url.path.strip("/").split("/")
            if len(parts) < 2 or parts[0] != "clusters":
                raise ApiError(404, "NotFound", "the server could not find the requested resource",
                               {})
            cluster = state.clusters.get(parts[1])
            if cluster is None or cluster.failed:
                self.close_connection = True  # like a node container that is not there
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            Api(self, state, cluster, parts[1]).handle(method, parts[2:], q, body)
        except ApiError as exc:
            self._send(exc.code, exc.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _cli(self, req: dict[str, Any]) -> None:
        tool = fakekind.kind if req["tool"] == "kind" else fakedocker.docker
        rc, out, err = tool(self.server.state, list(req["argv"]), req.get("cwd", "."),
                            dict(req.get("env", {})), req.get("stdin", ""))
        self._send(200, {"rc": rc, "stdout": out, "stderr": err})


class _Counting:
    """The response stream, counting the bytes each cluster's API sends (benchmarks)."""

    def __init__(self, raw: Any, state: State, path: str) -> None:
        parts = urlsplit(path).path.strip("/").split("/")
        self.raw, self.state = raw, state
        self.key = parts[1] if len(parts) > 1 and parts[0] == "clusters" else ""

    def write(self, data: bytes) -> int:
        if self.key:
            with self.state.lock:
                self.state.bytes_out[self.key] += len(data)
        return int(self.raw.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class Api:
    """One request against one cluster."""

    def __init__(self, h: Handler, state: State, cluster: Cluster, name: str) -> None:
        self.h, self.state, self.c, self.name = h, state, cluster, name

    def count(self, verb: str, resource: str) -> None:
        self.state.count(self.name, f"{verb} {resource}")

    def handle(self, method: str, parts: list[str], q: dict[str, str], body: bytes) -> None:
        if parts in (["healthz"], ["readyz"], ["livez"]):
            self.h._send(200, "ok", "text/plain; charset=utf-8")
            return
        if method == "GET" and (parts == ["version"] or (parts[:1] == ["api"] and len(parts) <= 2)
                                or (parts[:1] == ["apis"] and len(parts) <= 3)):
            self.count("get", "discovery")
            self.h._send(200, self.discovery(parts))
            return
        if parts[:1] == ["api"] and len(parts) >= 3:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        ns = ""
        if rest[0] == "namespaces" and len(rest) >= 3 and self.c.store.resolve(
                group, version, rest[2]) is not None:
            ns, rest = rest[1], rest[2:]
        rt = self.c.store.resolve(group, version, rest[0])
        if rt is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if sub and sub not in rt.subresources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        Resource(self, rt, ns, name, sub, q).handle(method, body)

    def discovery(self, parts: list[str]) -> Obj:
        store = self.c.store
        if parts == ["version"]:
            v = self.c.kube_version
            major, minor = v.lstrip("v").split(".")[:2]
            return {"major": major, "minor": minor, "gitVersion": v,
                    "gitCommit": "0000000000000000000000000000000000000000",
                    "gitTreeState": "clean", "buildDate": "2024-08-13T07:28:49Z",
                    "goVersion": "go1.22.5", "compiler": "gc", "platform": "linux/amd64"}
        if parts == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "172.18.0.2:6443"}]}
        gvs = store.group_versions()
        if parts == ["apis"]:
            return {"kind": "APIGroupList", "apiVersion": "v1",
                    "groups": [_group(g, vs) for g, vs in sorted(gvs.items()) if g]}
        group, version = ("", parts[1]) if parts[0] == "api" else (
            parts[1], parts[2] if len(parts) > 2 else "")
        if group not in gvs or (version and version not in gvs[group]):
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        if not version:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(group, gvs[group])}
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/{version}" if group else version,
                "resources": [r for t in store.resources(group, version) for r in t.discovery()]}


def _group(name: str, versions: list[str]) -> Obj:
    vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": vs, "preferredVersion": vs[0]}

