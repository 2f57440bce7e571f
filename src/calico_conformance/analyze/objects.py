"""JSON and YAML input: the suite's ``observations.jsonl``, and ``kubectl get pods|events
-o json|yaml`` (one object, a List, or several outputs pasted one after another).

Pods and events stay API objects; :mod:`calico_conformance.observe` turns them into
observations exactly as it does for the live watch.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import yaml

from ..datafile import LimitedLoader
from ..errors import UnreadableInput
from ..model import from_dict
from ..observe import Observation
from .parsed import READ, Parsed, Part, Snapshot

OBSERVATION_KEYS = {"t", "source"}


def parse_json(path: str, text: str) -> Parsed:
    """One JSON document, a stream of them, or JSON lines."""
    docs = _json_docs(path, text)
    if docs and all(isinstance(d, dict) and d.keys() >= OBSERVATION_KEYS for d, _ in docs):
        return _observations(path, docs)
    return _objects(path, docs, "JSON")


def parse_yaml(path: str, text: str) -> Parsed:
    try:
        docs = [d for d in yaml.load_all(text, Loader=LimitedLoader) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise UnreadableInput(f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                              path=path, line=line) from exc
    except RecursionError as exc:
        raise UnreadableInput("YAML nested too deeply to be kubectl output", path=path) from exc
    total = text.count("\n") + 1
    return _objects(path, [(d, (1, total)) for d in docs], "YAML")


def _json_docs(path: str, text: str) -> list[tuple[Any, tuple[int, int]]]:
    decoder = json.JSONDecoder()
    docs: list[tuple[Any, tuple[int, int]]] = []
    pos = 0
    try:
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                return docs
            start = text.count("\n", 0, pos) + 1
            doc, end = decoder.raw_decode(text, pos)
            docs.append((doc, (start, text.count("\n", 0, end) + 1)))
            pos = end
    except json.JSONDecodeError as exc:
        what = "cut off" if exc.pos >= len(text.rstrip()) else exc.msg
        raise UnreadableInput(f"not valid JSON ({what}, column {exc.colno})", path=path,
                              line=exc.lineno) from exc
    except RecursionError as exc:
        raise UnreadableInput("JSON nested too deeply to be kubectl output", path=path) from exc


def _observations(path: str, docs: list[tuple[Any, tuple[int, int]]]) -> Parsed:
    out = Parsed(formats=[(path, "observations.jsonl")])
    for doc, (first, _last) in docs:
        try:
            obs = from_dict(Observation, doc)
            if not isinstance(obs.t, (int, float)) or not isinstance(obs.source, str):
                raise TypeError("'t' must be a number and 'source' a string")
            out.watch_log.append(obs)
        except (TypeError, ValueError, AttributeError) as exc:
            raise UnreadableInput(f"not an observation: {exc}", path=path, line=first) from exc
    out.parts.append(Part(path, docs[0][1][0], docs[-1][1][1], READ,
                          f"observation log ({len(out.watch_log)} observations)"))
    return out


def _items(doc: Any) -> list[tuple[str, dict[str, Any]]]:
    """(kind, object) for every Pod and Event in a document (Lists unpacked)."""
    if not isinstance(doc, dict):
        return []
    kind = str(doc.get("kind") or "")
    if isinstance(doc.get("items"), list):
        inner = kind.removesuffix("List") if kind.endswith("List") and kind != "List" else ""
        out: list[tuple[str, dict[str, Any]]] = []
        for item in doc["items"]:
            if isinstance(item, dict):
                out += _items({"kind": inner, **item} if inner and "kind" not in item
                              else item)
        return out
    if kind == "Pod" or (not kind and isinstance(doc.get("status"), dict)
                         and "containerStatuses" in doc["status"]):
        return [("Pod", doc)]
    if kind == "Event" or (not kind and isinstance(doc.get("involvedObject"), dict)):
        return [("Event", doc)]
    return [(kind or "unknown", doc)]


def _objects(path: str, docs: list[tuple[Any, tuple[int, int]]], fmt: str) -> Parsed:
    out = Parsed(formats=[(path, fmt)])
    for doc, (first, last) in docs:
        items = _items(doc)
        pods = [o for k, o in items if k == "Pod"]
        events = [o for k, o in items if k == "Event"]
        other = sorted({k for k, _ in items if k not in ("Pod", "Event")})
        for pod in pods:
            _check_pod(path, first, pod)
            out.pods.append(Snapshot(pod, _pod_age(pod), f"{path}:{first}"))
        for ev in events:
            if not isinstance(ev.get("involvedObject") or {}, dict):
                raise UnreadableInput("an Event whose involvedObject is not an object",
                                      path=path, line=first)
            out.events.append(Snapshot(ev, _span(ev.get("firstTimestamp"),
                                                 ev.get("lastTimestamp")), f"{path}:{first}"))
        what = ", ".join(f"{n} {w}" for n, w in ((len(pods), "pod(s)"), (len(events),
                                                  "event(s)")) if n)
        if other:
            what += ("; " if what else "") + "ignored: " + ", ".join(other)
        out.parts.append(Part(path, first, last, READ if (pods or events) else "not read",
                              f"{fmt} {what or 'without pods or events'}"))
    return out


def _check_pod(path: str, line: int, pod: dict[str, Any]) -> None:
    """The shapes ``observe.from_pod`` relies on, or one line saying which is wrong."""
    for key in ("metadata", "spec", "status"):
        if not isinstance(pod.get(key) or {}, dict):
            raise UnreadableInput(f"a Pod whose {key} is not an object", path=path, line=line)
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses"):
        value = status.get(key) or []
        if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
            raise UnreadableInput(f"a Pod whose status.{key} is not a list of objects",
                                  path=path, line=line)
        for c in value:
            if c.get("restartCount") is not None and (
                    not isinstance(c["restartCount"], int) or isinstance(c["restartCount"], bool)):
                raise UnreadableInput(f"{key}: restartCount {c['restartCount']!r} is not a "
                                      "number", path=path, line=line)
            for st in ("state", "lastState"):
                if not isinstance(c.get(st) or {}, dict):
                    raise UnreadableInput(f"{key}: {st} is not an object", path=path, line=line)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _span(a: Any, b: Any) -> float | None:
    start, end = _time(a), _time(b)
    if start is None or end is None or start.tzinfo is None or end.tzinfo is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def _pod_age(pod: dict[str, Any]) -> float | None:
    """Seconds from the pod's start to the newest time its status mentions: the age it had
    at the snapshot, as far as the object itself tells (a lower bound)."""
    status = pod.get("status") or {}
    stamps: list[Any] = [c.get("lastTransitionTime") for c in status.get("conditions") or []
                         if isinstance(c, dict)]
    for c in [*(status.get("containerStatuses") or []),
              *(status.get("initContainerStatuses") or [])]:
        for st in ("state", "lastState"):
            for detail in (c.get(st) or {}).values():
                if isinstance(detail, dict):
                    stamps += [detail.get("startedAt"), detail.get("finishedAt")]
    spans = [s for s in (_span(status.get("startTime"), t) for t in stamps) if s is not None]
    return max(spans) if spans else None
