"""What the ``analyze`` parsers hand over: API-shaped objects plus an account of the input.

Every parser, whatever it read (JSON, YAML, ``kubectl describe`` text, tables), produces
the same shapes: pod and event objects as the Kubernetes API would send them (camelCase),
table rows as :class:`~calico_conformance.observe.Observation` s, and :class:`Part` s
saying which lines were read, skipped or not understood. So there is one path from
"what Kubernetes says" to the verdict: :mod:`calico_conformance.observe`, then
:func:`calico_conformance.verdict.judge`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..observe import Observation

READ, SKIPPED, UNREAD = "read", "skipped", "not read"


@dataclass(frozen=True)
class Part:
    """A run of lines of one input and what became of them."""

    path: str
    first: int  # 1-based line numbers, inclusive
    last: int
    status: str  # READ | SKIPPED | UNREAD
    what: str  # "kubectl describe pod calico-node-x", "event table", "not kubectl output"
    sample: str = ""  # the first line, for UNREAD parts

    def where(self) -> str:
        lines = f"{self.first}" if self.first == self.last else f"{self.first}-{self.last}"
        return f"{self.path}:{lines}"


@dataclass
class Snapshot:
    """One pod or event list as pasted: the object and how old it was at the paste."""

    obj: dict[str, Any]
    age_s: float | None = None  # seconds between pod start (or first event) and the paste
    where: str = ""  # path:line it came from, for error messages


@dataclass
class Parsed:
    """Everything read from all inputs."""

    pods: list[Snapshot] = field(default_factory=list)
    events: list[Snapshot] = field(default_factory=list)
    rows: list[Observation] = field(default_factory=list)  # `kubectl get pods` table rows
    watch_log: list[Observation] = field(default_factory=list)  # observations.jsonl
    parts: list[Part] = field(default_factory=list)
    assumed: list[str] = field(default_factory=list)  # every guess, said out loud
    formats: list[tuple[str, str]] = field(default_factory=list)  # (path, format)

    def extend(self, other: Parsed) -> None:
        self.pods += other.pods
        self.events += other.events
        self.rows += other.rows
        self.watch_log += other.watch_log
        self.parts += other.parts
        self.assumed += other.assumed
        self.formats += other.formats

    @property
    def empty(self) -> bool:
        return not (self.pods or self.events or self.rows or self.watch_log)


def merge_parts(parts: list[Part]) -> list[Part]:
    """Adjacent parts about the same thing become one: read if any of it was read (a
    describe's skipped Environment lines belong to the describe that was read)."""
    out: list[Part] = []
    for p in sorted(parts, key=lambda x: (x.path, x.first)):
        prev = out[-1] if out else None
        same = prev is not None and prev.path == p.path and p.first <= prev.last + 1 and (
            prev.what == p.what and (prev.status == p.status or UNREAD not in (
                prev.status, p.status)))
        if prev is not None and same:
            status = READ if READ in (prev.status, p.status) else prev.status
            out[-1] = Part(p.path, prev.first, max(prev.last, p.last), status, p.what,
                           prev.sample)
        else:
            out.append(p)
    return out
