"""The only module that talks to the Kubernetes API (through the official client).

Objects cross this boundary as plain API JSON dicts (camelCase), so the rest of
the suite never imports ``kubernetes``. Client exceptions become
:class:`KubeApiError` / :class:`WatchExpired` with the original as the cause.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, config, dynamic, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import DynamicApiError, ResourceNotFoundError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)

from .errors import KubeApiError, WatchExpired

FIELD_MANAGER = "calico-conformance"
# Named waits. Each is an upper bound on one step, not a soak setting.
CRD_ESTABLISHED_TIMEOUT_S = 60.0  # CRDs are Established within seconds on a healthy apiserver
DAEMONSET_SCHEDULED_TIMEOUT_S = 120.0  # every node got a calico-node pod (not: became Ready)
API_READY_TIMEOUT_S = 60.0  # apiserver answers /version after kind create returned
WATCH_CHUNK_S = 30  # server-side timeoutSeconds per watch request; streams are re-opened
RELIST_TIMEOUT_S = 120.0  # how long a lost watch may keep failing to relist before we give up
FINAL_STATUSES = {401, 403, 404}  # retrying these cannot help
REQUEST_TIMEOUT = (10, 60)  # (connect, read) seconds for every non-watch request
RAW: dict[str, Any] = {"_preload_content": False, "_request_timeout": REQUEST_TIMEOUT}

_NET_ERRORS = (urllib3.exceptions.HTTPError, ConnectionError, OSError)


@contextmanager
def api_errors(what: str) -> Iterator[None]:
    """Translate client exceptions into ours."""
    try:
        yield
    except ApiException as exc:
        if exc.status == 410:
            raise WatchExpired(f"{what}: 410 Gone ({exc.reason})", status=410) from exc
        raise KubeApiError(f"{what}: HTTP {exc.status} {exc.reason}", status=exc.status) from exc
    except DynamicApiError as exc:
        raise KubeApiError(f"{what}: HTTP {exc.status} {exc.reason}", status=exc.status) from exc
    except ResourceNotFoundError as exc:
        raise KubeApiError(f"{what}: the API does not serve this kind ({exc})") from exc
    except _NET_ERRORS as exc:
        raise KubeApiError(f"{what}: {type(exc).__name__}: {exc}") from exc


def _wait(what: str, timeout_s: float, check: Callable[[], bool], every_s: float = 0.5) -> None:
    """Retry ``check`` until it returns True; tenacity does the looping."""

    try:
        Retrying(stop=stop_after_delay(timeout_s), wait=wait_fixed(every_s),
                 retry=retry_if_result(lambda ok: not ok) | retry_if_exception_type(KubeApiError),
                 reraise=False)(check)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        detail = f": {last}" if isinstance(last, KubeApiError) else ""
        raise KubeApiError(f"{what}: not done within {timeout_s:.0f}s{detail}") from exc


class Kube:
    """A cluster's API, from its kubeconfig."""

    def __init__(self, kubeconfig: Path, cache_dir: Path | None = None) -> None:
        with api_errors(f"load kubeconfig {kubeconfig}"):
            try:
                self.api = config.new_client_from_config(config_file=str(kubeconfig))
            except config.ConfigException as exc:
                raise KubeApiError(f"{kubeconfig}: {exc}") from exc
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self._dyn: dynamic.DynamicClient | None = None
        # DynamicClient caches discovery in /tmp keyed by host; clusters reuse 127.0.0.1
        # ports, so each cluster gets its own cache file.
        self._discovery_cache = str((cache_dir or kubeconfig.parent) / "discovery-cache.json")

    @property
    def dyn(self) -> dynamic.DynamicClient:
        if self._dyn is None:
            with api_errors("API discovery"):
                self._dyn = dynamic.DynamicClient(self.api, cache_file=self._discovery_cache)
        return self._dyn

    def close(self) -> None:
        self.api.close()

    def server_version(self) -> str:
        with api_errors("GET /version"):
            return str(client.VersionApi(self.api).get_code(
                _request_timeout=REQUEST_TIMEOUT).git_version)

    def wait_api_ready(self, timeout_s: float = API_READY_TIMEOUT_S) -> None:
        _wait("API server ready", timeout_s, lambda: bool(self.server_version()))

    # --- apply -----------------------------------------------------------------------------

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply one object (force: we own these objects)."""
        kind, name = obj.get("kind", "?"), obj.get("metadata", {}).get("name", "?")
        with api_errors(f"apply {kind}/{name}"):
            res = self.dyn.resources.get(api_version=obj["apiVersion"], kind=kind)
            ns = obj.get("metadata", {}).get("namespace") if res.namespaced else None
            if res.namespaced and not ns:
                ns = "default"
            out = self.dyn.server_side_apply(res, body=obj, name=name, namespace=ns,
                                             field_manager=FIELD_MANAGER, force_conflicts=True,
                                             _request_timeout=REQUEST_TIMEOUT)
            return dict(out.to_dict())

    def crd_established(self, name: str) -> bool:
        with api_errors(f"get CRD {name}"):
            res = self.dyn.resources.get(api_version="apiextensions.k8s.io/v1",
                                         kind="CustomResourceDefinition")
            crd = res.get(name=name).to_dict()
        return any(c.get("type") == "Established" and c.get("status") == "True"
                   for c in (crd.get("status") or {}).get("conditions") or [])

    def wait_crds_established(self, names: list[str],
                              timeout_s: float = CRD_ESTABLISHED_TIMEOUT_S) -> None:
        _wait(f"{len(names)} CRDs Established", timeout_s,
              lambda: all(self.crd_established(n) for n in names))
        self._dyn = None  # new groups exist now: rediscover, without the stale cache
        Path(self._discovery_cache).unlink(missing_ok=True)

    def daemonset(self, namespace: str, name: str) -> dict[str, Any]:
        return self._get_raw(f"daemonset {namespace}/{name}",
                             lambda: self.apps.read_namespaced_daemon_set(
                                 name, namespace, **RAW))

    def wait_daemonset_scheduled(self, namespace: str, name: str,
                                 timeout_s: float = DAEMONSET_SCHEDULED_TIMEOUT_S) -> None:
        def scheduled() -> bool:
            st = self.daemonset(namespace, name).get("status") or {}
            want = st.get("desiredNumberScheduled") or 0
            return want > 0 and st.get("currentNumberScheduled", 0) >= want
        _wait(f"DaemonSet {namespace}/{name} scheduled on every node", timeout_s, scheduled)

    # --- reads -----------------------------------------------------------------------------

    def _get_raw(self, what: str, call: Callable[[], Any]) -> dict[str, Any]:
        with api_errors(what):
            resp = call()
            return dict(json.loads(resp.data))

    def list_pods(self, namespace: str, selector: str = "") -> dict[str, Any]:
        return self._get_raw(f"list pods {selector}", lambda: self.core.list_namespaced_pod(
            namespace, label_selector=selector, **RAW))

    def list_events(self, namespace: str) -> dict[str, Any]:
        return self._get_raw("list events", lambda: self.core.list_namespaced_event(
            namespace, **RAW))

    def pod_log(self, namespace: str, pod: str, container: str, previous: bool = False) -> str:
        with api_errors(f"logs of {pod}/{container}{' (previous)' if previous else ''}"):
            return str(self.core.read_namespaced_pod_log(pod, namespace, container=container,
                                                         previous=previous,
                                                         _request_timeout=REQUEST_TIMEOUT))

    # --- watch -----------------------------------------------------------------------------

    def _lister(self, kind: str, namespace: str, selector: str) -> Callable[..., Any]:
        if kind == "pods":
            return lambda **kw: self.core.list_namespaced_pod(namespace, label_selector=selector,
                                                              **kw)
        if kind == "events":
            return lambda **kw: self.core.list_namespaced_event(namespace, **kw)
        if kind == "nodes":
            return lambda **kw: self.core.list_node(**kw)
        raise ValueError(kind)

    def _relist(self, kind: str, lister: Callable[..., Any],
                stop: threading.Event) -> dict[str, Any]:
        """List with retries: the apiserver may be briefly away (control-plane pods
        restart too when the cgroup driver is wrong). Auth and not-found are final."""

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, KubeApiError) and exc.status not in FINAL_STATUSES

        try:
            for attempt in Retrying(stop=stop_after_delay(RELIST_TIMEOUT_S), wait=wait_fixed(1.0),
                                    retry=retry_if_exception(retryable), reraise=True):
                with attempt:
                    if stop.is_set():
                        return {}
                    return self._get_raw(f"list {kind}", lambda: lister(
                        **RAW))
        except RetryError as exc:  # pragma: no cover - reraise=True raises the cause
            raise KubeApiError(f"list {kind}: gave up") from exc
        return {}

    def stream(self, kind: str, namespace: str = "", selector: str = "", *,
               stop: threading.Event,
               on_resume: Callable[[str], None] | None = None,
               ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Watch ``kind`` until ``stop``: list, then watch from the list's resourceVersion;
        on 410 Gone or a dropped stream, relist and resume. Yields (event type, object); a
        relist yields every object as "SYNC". Raises KubeApiError when it cannot resume."""
        lister = self._lister(kind, namespace, selector)
        rv = ""
        while not stop.is_set():
            if not rv:
                listing = self._relist(kind, lister, stop)
                if stop.is_set():
                    return
                rv = str(listing.get("metadata", {}).get("resourceVersion", ""))
                for item in listing.get("items") or []:
                    yield "SYNC", item
            w = watch.Watch()
            try:
                # With timeout_seconds set, Watch.stream raises ApiException(410) itself
                # on an ERROR event; api_errors turns that into WatchExpired.
                with api_errors(f"watch {kind}"):
                    # A client-side read timeout too: an apiserver that accepts the
                    # connection and then hangs must surface (kubernetes-client/python#801).
                    for ev in w.stream(lister, resource_version=rv, timeout_seconds=WATCH_CHUNK_S,
                                       allow_watch_bookmarks=True,
                                       _request_timeout=(10, WATCH_CHUNK_S + 15)):
                        raw = ev.get("raw_object") or {}
                        new_rv = (raw.get("metadata") or {}).get("resourceVersion")
                        if new_rv:
                            rv = str(new_rv)
                        if ev.get("type") != "BOOKMARK":
                            yield str(ev.get("type")), raw
                        if stop.is_set():
                            break
            except WatchExpired:
                if on_resume:
                    on_resume(f"{kind}: 410 Gone, relisting")
                rv = ""
            except KubeApiError as exc:
                if stop.is_set():
                    return
                if exc.status in FINAL_STATUSES:
                    raise
                if on_resume:
                    on_resume(f"{kind}: stream dropped ({exc}), relisting")
                rv = ""
                stop.wait(0.2)
            finally:
                w.stop()
