"""The stability watch: from install to the end of the soak, record every change.

The loop only knows a :class:`Source` (something that hands over observations,
waiting at most ``timeout`` seconds) and a :class:`~calico_conformance.clock.Clock`.
In production the source is a set of Kubernetes watches; in tests it is a script
on a fake clock, so a ten-minute soak runs in milliseconds.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .calico import CALICO_NODE, KUBE_CONTROLLERS, NAMESPACE
from .clock import Clock
from .errors import KubeApiError
from .kube import Kube
from .observe import (
    Observation,
    ObservationLog,
    from_event,
    from_node,
    from_pod,
    infra,
)
from .tracker import Thresholds, Tracker


class WatchHub:
    """Several watch streams merged into one queue, one thread each."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.stop = threading.Event()
        self.queue: queue.Queue[tuple[str, str, dict[str, Any]]] = queue.Queue()
        self.resumes: list[str] = []
        self.threads: list[threading.Thread] = []

    def add(self, kind: str, namespace: str = "", selector: str = "") -> None:
        def pump() -> None:
            try:
                for typ, obj in self.kube.stream(kind, namespace, selector, stop=self.stop,
                                                 on_resume=self.resumes.append):
                    self.queue.put((kind, typ, obj))
            except Exception as exc:  # a dead pump must be seen, never silent
                if self.stop.is_set():
                    return
                msg = str(exc) if isinstance(exc, KubeApiError) else (
                    f"watch {kind}: {type(exc).__name__}: {exc}")
                self.queue.put((kind, "INFRA", {"message": msg}))

        t = threading.Thread(target=pump, name=f"watch-{kind}-{selector}", daemon=True)
        self.threads.append(t)
        t.start()

    def get(self, timeout: float) -> tuple[str, str, dict[str, Any]] | None:
        try:
            return self.queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def close(self) -> None:
        """Stop the pumps. A pump blocked in a watch read notices at its next event or
        chunk end (kube.WATCH_CHUNK_S); they are daemon threads, so we do not wait for that."""
        self.stop.set()
        for t in self.threads:
            t.join(timeout=0.1)


class Source(Protocol):
    def start(self, clock: Clock) -> None: ...

    def next(self, timeout: float) -> list[Observation] | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Progress:
    elapsed_s: float
    soak_s: float
    restarts: int
    ready: int
    pods: int
    done: bool = False
    early: bool = False


@dataclass(frozen=True)
class SoakResult:
    watched_s: float
    early: bool
    resumes: tuple[str, ...] = ()


class KubeSource:
    """calico-node and calico-kube-controllers pods, nodes and kube-system events."""

    def __init__(self, kube: Kube) -> None:
        self.hub = WatchHub(kube)
        self._clock: Clock | None = None
        self._t0 = 0.0
        self._seen_events: set[tuple[str, str]] = set()  # a relist re-sends every event

    def start(self, clock: Clock) -> None:
        self._clock, self._t0 = clock, clock.monotonic()
        self.hub.add("pods", NAMESPACE, f"k8s-app={CALICO_NODE}")
        self.hub.add("pods", NAMESPACE, f"k8s-app={KUBE_CONTROLLERS}")
        self.hub.add("events", NAMESPACE)
        self.hub.add("nodes")

    def next(self, timeout: float) -> list[Observation] | None:
        item = self.hub.get(timeout)
        if item is None:
            return None
        assert self._clock is not None
        t = self._clock.monotonic() - self._t0
        at = self._clock.now().isoformat()
        kind, _typ, obj = item
        if kind == "events":
            meta = obj.get("metadata") or {}
            key = (str(meta.get("uid") or meta.get("name")), str(obj.get("count") or 1))
            if key in self._seen_events:
                return []
            self._seen_events.add(key)
        return to_observations(t, at, *item)

    @property
    def resumes(self) -> list[str]:
        return self.hub.resumes

    def close(self) -> None:
        self.hub.close()


def to_observations(t: float, at: str, kind: str, typ: str,
                    obj: dict[str, Any]) -> list[Observation]:
    if typ == "INFRA":
        return [infra(t, at, str(obj.get("message", "")))]
    if typ == "DELETED":
        return []
    if kind == "pods":
        return from_pod(t, at, obj)
    if kind == "events":
        return [from_event(t, at, obj)]
    if kind == "nodes":
        return [from_node(t, at, obj)]
    return []


def soak(source: Source, clock: Clock, soak_s: float, log: ObservationLog, *,
         thresholds: Thresholds | None = None, full_soak: bool = False,
         progress: Callable[[Progress], None] | None = None,
         tick_s: float = 5.0, started_at: float | None = None) -> SoakResult:
    """Watch until the soak ends, or until the cell can no longer become stable.

    Pass ``started_at`` (the clock's monotonic time) when the source was started earlier,
    at the Calico install: the soak window and observation times then share that origin.
    """
    th = thresholds or Thresholds()
    if started_at is None:
        started_at = clock.monotonic()
        source.start(clock)
    start = started_at
    early = False
    tracker = Tracker().feed(log.items)  # one fold, kept up to date: flat cost per batch
    try:
        while True:
            remaining = soak_s - (clock.monotonic() - start)
            if remaining <= 0:
                break
            batch = source.next(min(remaining, tick_s))
            if batch:
                log.extend(batch)
                tracker.feed(batch)
                if not full_soak and tracker.can_stop_early(th):
                    early = True
            if progress:
                restarts, ready, pods = tracker.summary()
                progress(Progress(clock.monotonic() - start, soak_s, restarts, ready, pods))
            if early:
                break
    finally:
        source.close()
    watched = min(clock.monotonic() - start, soak_s)
    if progress:
        restarts, ready, pods = tracker.summary()
        progress(Progress(watched, soak_s, restarts, ready, pods, done=True, early=early))
    return SoakResult(watched, early, tuple(getattr(source, "resumes", ()) or ()))
