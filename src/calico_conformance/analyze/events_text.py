"""Event rows as people paste them: the ``Events:`` block of ``kubectl describe`` and the
``kubectl get events`` table, old and new kubectl column layouts.

Ages are kubectl's human durations (``83s``, ``7h22m``, ``2d3h``); ``<invalid>`` means
the event's timestamp was ahead of the client's clock, and such an age is left unknown
(kubectl's ``translateTimestampSince`` prints it for a future time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "y": 365 * 86400}
_AGE = re.compile(r"(?:\d{1,10}[smhdy]){1,6}")
# Bounded digits and units: kubectl prints at most two units ("7h22m"), ints of int32.
AGE = r"<invalid>|<unknown>|(?:\d{1,10}[smhdy]){1,6}"
# "83s (x1234 over 7h22m)": the kubelet's event correlator counted 1234 of them.
REPEAT = rf"(?:\s+\(x(?P<count>\d{{1,10}})\s+over\s+(?P<over>{AGE})\))?"
# describe: "  Warning  Unhealthy  83s (x1234 over 7h22m)  kubelet  Readiness probe ..."
# (old kubectl: "kubelet, node-1" in From, and "2m (x4 over 5m)" in Age).
DESCRIBE_ROW = re.compile(
    rf"^\s*(?P<type>Normal|Warning)\s+(?P<reason>[A-Za-z]+)\s+(?P<age>{AGE}){REPEAT}"
    r"\s+(?P<src>[\w.-]+(?:,\s*[\w.-]+)?)\s{1,}(?P<msg>\S.*)?$")
# get events: "[NS]  LAST SEEN  TYPE  REASON  OBJECT  MESSAGE"
TABLE_ROW = re.compile(
    rf"^(?:(?P<ns>[a-z0-9][a-z0-9-]*)\s+)?(?P<age>{AGE}){REPEAT}\s+(?P<type>Normal|Warning)"
    r"\s+(?P<reason>[A-Za-z]+)\s+(?P<object>[a-z]+(?:\.[\w.-]+)?/[\w.-]+)\s+(?P<msg>.*)$")
# old kubectl (< 1.14): LAST SEEN FIRST SEEN COUNT NAME KIND SUBOBJECT TYPE REASON SOURCE MESSAGE
OLD_TABLE_ROW = re.compile(
    rf"^(?:(?P<ns>[a-z0-9][a-z0-9-]*)\s+)?(?P<age>{AGE})\s+(?P<first>{AGE})\s+"
    r"(?P<count>\d{1,10})\s+(?P<name>[\w.-]+)\s+"
    r"(?P<kind>[A-Z]\w+)\s+(?:(?P<sub>spec\.\S+)\s+)?(?P<type>Normal|Warning)\s+"
    r"(?P<reason>[A-Za-z]+)\s+(?P<src>[\w.-]+(?:,\s*[\w.-]+)?)\s+(?P<msg>.*)$")
HEADER = re.compile(r"^\s*(?:NAMESPACE\s+)?LAST SEEN\s+(?:FIRST SEEN\s+COUNT\s+NAME|TYPE)")
DESCRIBE_HEADER = re.compile(r"^\s*Type\s+Reason\s+Age\s+From\s+Message\s*$")
RULE = re.compile(r"^\s*-{3,}(?:\s+-{3,})+\s*$")


def parse_age(text: str) -> float | None:
    """kubectl's human duration in seconds, or None for ``<invalid>``/``<unknown>``."""
    if not _AGE.fullmatch(text or ""):
        return None
    return float(sum(int(n) * _UNIT[u] for n, u in re.findall(r"(\d+)([smhdy])", text)))


@dataclass
class EventRow:
    line: int
    type: str
    reason: str
    message: str
    count: int = 1
    age_s: float | None = None  # last seen, seconds before the paste
    first_s: float | None = None  # first seen, seconds before the paste
    obj: str = ""  # pod name when the row says it
    invalid_age: bool = False
    kind: str = "Pod"  # the involved object's kind, where the row says it

    def to_api(self, pod: str) -> dict[str, Any]:
        """The core/v1 Event this row shows (what ``observe.from_event`` reads)."""
        return {"involvedObject": {"kind": self.kind, "name": self.obj or pod},
                "reason": self.reason, "type": self.type, "message": self.message.strip(),
                "count": self.count}


def match_row(line: str, lineno: int) -> EventRow | None:
    """An event row of any known layout, or None."""
    m = DESCRIBE_ROW.match(line) or TABLE_ROW.match(line)
    if m is None:
        m = OLD_TABLE_ROW.match(line)
        if m is None:
            return None
        first = parse_age(m["first"])
        return EventRow(lineno, m["type"], m["reason"], m["msg"] or "", int(m["count"]),
                        parse_age(m["age"]), first, m["name"].split(".")[0],
                        m["age"] == "<invalid>", m["kind"])
    d = m.groupdict()
    count = int(d["count"]) if d.get("count") else 1
    age = parse_age(m["age"])
    first = parse_age(d["over"]) if d.get("over") else age
    kind, _, obj = (d.get("object") or "").rpartition("/")
    return EventRow(lineno, m["type"], m["reason"], d.get("msg") or "", count, age, first,
                    obj, m["age"] == "<invalid>", "Pod" if kind in ("", "pod") else kind)


def continues(line: str) -> bool:
    """A line that can only be the wrapped rest of the previous event's message: the
    kubelet's probe output keeps its own newlines (the readiness probe prints a log line,
    then ``calico/node is not ready: ...``)."""
    s = line.strip()
    return bool(s) and not s.endswith(":") and not RULE.match(line) and ":  " not in s
