"""Pasted text: any mix of ``describe pod``, ``get pods`` tables and event tables.

Each line is offered, in order, to the describe reader, the pod-table and event-row
matchers, and as the wrapped continuation of the previous event's message. What none of
them takes is kept as a "not read" part with its first line, so the report can say so.
"""

from __future__ import annotations

import re

from . import events_text, tables
from .describe import DescribeReader
from .events_text import EventRow
from .parsed import READ, SKIPPED, UNREAD, Parsed, Part, Snapshot

# calico-node's containers (calico.yaml): a describe without a Name: line that shows others
# is some other pod.
CALICO_CONTAINERS = frozenset({"calico-node", "install-cni", "upgrade-ipam", "flexvol-driver",
                               "mount-bpffs", "ebpf-bootstrap"})
# Lines that carry nothing: code fences, shell prompts with the kubectl command, blanks.
# Prompts as people paste them: "$ ", "root@node:~# ", "[root@node ~]# ", "(base) me@pc:~$ ",
# "PS C:\\> ", each before a kubectl (or oc, OpenShift's kubectl) command.
PROMPT = r"(?:\(\S+\)\s*)?(?:\[[^\]\n]*\]|PS [^>\n]*|[\w.@:~/\\-]+)?\s*[#$%>]\s*"
# Matched against the stripped line (is_noise): a leading \s* beside the prompt's own
# would be quadratic in a long run of spaces.
NOISE = re.compile(rf"(?:```[\w-]*|~~~|\$\s.*|{PROMPT}(?:kubectl|oc)\b.*|(?:kubectl|oc)\s.*|"
                   r"<details>|</details>|<summary>.*|)")
# Markdown around a pasted line: a quote marker, or the line wrapped in backticks or bold.
MARKUP = re.compile(r"^(?:>\s?)?(?P<q>`|\*\*)(?P<body>[^`]*?)(?P=q)\s*$")


def is_noise(line: str) -> bool:
    return NOISE.fullmatch(line.strip()) is not None


def unmark(raw: str) -> str:
    """The line as kubectl printed it: tabs as spaces, markdown quoting removed."""
    line = raw.rstrip().replace("\t", "    ")
    m = MARKUP.match(line)
    return m["body"].rstrip() if m else line


def parse_text(path: str, text: str) -> Parsed:
    out = Parsed()
    reader = DescribeReader()
    events: list[tuple[EventRow, int | None]] = []  # row, index of its describe pod
    last: EventRow | None = None
    statuses: list[tuple[int, str, str, str]] = []  # lineno, status, what, sample
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = unmark(raw)
        in_events = reader.section == "Events"
        if events_text.DESCRIBE_HEADER.match(line) or events_text.RULE.match(line):
            statuses.append((lineno, SKIPPED, "events header", ""))
            continue
        row = events_text.match_row(line, lineno)
        if row is not None:
            events.append((row, len(reader.pods) - 1 if in_events else None))
            last = row
            statuses.append((lineno, READ, "events" if in_events else "event rows", ""))
            continue
        used = reader.feed(lineno, line)
        if used is not None:
            last = None
            statuses.append((lineno, used, _describe_what(reader), ""))
            continue
        prow = tables.match_row(line, lineno)
        if prow is not None:
            out.rows.append(tables.to_observation(prow))
            last = None
            statuses.append((lineno, READ, "kubectl get pods table", ""))
            continue
        if tables.HEADER.match(line) or events_text.HEADER.match(line):
            last = None
            statuses.append((lineno, SKIPPED, "table header", ""))
            continue
        if last is not None and events_text.continues(line) and not is_noise(line):
            last.message += "\n" + line.strip()
            statuses.append((lineno, READ, f"wrapped message of the event on line {last.line}",
                             ""))
            continue
        if is_noise(line):
            statuses.append((lineno, SKIPPED, "blank, fence or command line", ""))
            continue
        last = None
        statuses.append((lineno, UNREAD, "not kubectl output", line.strip()[:80]))
    out.assumed += [f"{path}: {a}" for a in reader.finish()]
    _collect(path, reader, events, out)
    out.parts += [Part(path, n, n, st, what, sample) for n, st, what, sample in statuses]
    return out


def _describe_what(reader: DescribeReader) -> str:
    pod = reader.pod
    name = pod.name if pod is not None and pod.name else "(name not in the paste)"
    return f"kubectl describe pod {name}"


def _collect(path: str, reader: DescribeReader, events: list[tuple[EventRow, int | None]],
             out: Parsed) -> None:
    """Pods and events as API objects, each pod aged by its oldest event."""
    oldest: dict[int, float] = {}
    for row, idx in events:
        if idx is not None and row.first_s is not None:
            oldest[idx] = max(oldest.get(idx, 0.0), row.first_s)
    for idx, pod in enumerate(reader.pods):
        if not pod.name:
            named = [c.name for c in pod.containers if c.name]
            if named and not any(c.name in CALICO_CONTAINERS or "calico" in c.image
                                 for c in pod.containers):
                pod.name = "(unnamed pod)"
                out.assumed.append(f"{path}:{pod.first_line}: the describe has no Name: line, "
                                   f"and its containers ({', '.join(named[:4])}) are not "
                                   "calico-node's: judged as an unnamed pod")
            else:
                pod.name = "calico-node"
                out.assumed.append(f"{path}:{pod.first_line}: the describe has no Name: line; "
                                   "assumed to be a calico-node pod")
        if "k8s-app" not in pod.labels and tables.app_of(pod.name):
            pod.labels["k8s-app"] = tables.app_of(pod.name)
        if pod.cut:
            out.assumed.append(f"{path}:{pod.last_line}: the describe of {pod.name} stops "
                               f"{pod.cut}; nothing after that line is known")
        if pod.shows_status:  # an Events: block alone says nothing of the pod's state
            out.pods.append(Snapshot(pod.api(), oldest.get(idx), f"{path}:{pod.first_line}"))
    bare = [row for row, idx in events if idx is None and not row.obj]
    owner = reader.pods[-1].name if reader.pods else "calico-node"
    if bare:
        out.assumed.append(f"{path}:{bare[0].line}: {len(bare)} event row(s) without an "
                           f"Events: block or an OBJECT column; taken as events of {owner}"
                           + ("" if reader.pods else " (assumed: no pod is named)"))
    for row, idx in events:
        if row.kind != "Pod":  # a node's or a DaemonSet's event says nothing of a pod
            continue
        name = reader.pods[idx].name if idx is not None else owner
        if row.invalid_age:
            out.assumed.append(f"{path}:{row.line}: age <invalid> (the event's time was ahead "
                               "of kubectl's clock): its age is unknown")
        out.events.append(Snapshot(row.to_api(name), row.first_s, f"{path}:{row.line}"))
