"""``kubectl get pods`` tables: with or without ``-o wide``, ``-A`` or the header line.

Old kubectl prints ``RESTARTS`` as a number; kubectl >= 1.22 adds when the last one was
(``7 (83s ago)``). Columns are split on runs of spaces, so either spacing reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..calico import CALICO_NODE, KUBE_CONTROLLERS
from ..observe import Observation
from .events_text import AGE, parse_age

HEADER = re.compile(r"^\s*(?:NAMESPACE\s+)?NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\b")
# Names may carry the "pod/" of `kubectl get all` and `-o name`; a row may be indented (a
# Markdown code block by indentation).
ROW = re.compile(
    rf"^\s*(?:(?P<ns>[a-z0-9][a-z0-9-]*)\s+)?(?:pods?/)?(?P<name>[a-z0-9][a-z0-9.-]*)\s+"
    r"(?P<ready>\d{1,4})/(?P<total>\d{1,4})\s+(?P<status>[A-Za-z][\w:-]*)\s+"
    r"(?P<restarts>\d{1,10})"
    rf"(?:\s+\((?P<last>{AGE}) ago\))?\s+(?P<age>{AGE})(?P<wide>(?:\s+\S+)*)\s*$")
# STATUS column values and the container state each one shows (kubectl's printPod).
WAITING = {"CrashLoopBackOff", "ContainerCreating", "PodInitializing", "ImagePullBackOff",
           "ErrImagePull", "CreateContainerError", "CreateContainerConfigError",
           "RunContainerError", "InvalidImageName"}
# The node stopped reporting: the pod's last status is stale (kubectl prints the pod's
# status.reason, NodeLost: k8s.io/kubernetes pkg/util/node NodeUnreachablePodReason).
NODE_LOST = frozenset({"NodeLost", "Unknown"})
TERMINATED = {"Completed", "Error", "OOMKilled", "ContainerCannotRun", "DeadlineExceeded"}


@dataclass(frozen=True)
class PodRow:
    line: int
    name: str
    ready: int
    total: int
    status: str
    restarts: int
    age_s: float | None
    node: str = ""
    last_restart_s: float | None = None


def match_row(line: str, lineno: int) -> PodRow | None:
    m = ROW.match(line)
    if m is None:
        return None
    wide = m["wide"].split()
    node = wide[1] if len(wide) >= 2 and wide[1] != "<none>" else ""
    return PodRow(lineno, m["name"], int(m["ready"]), int(m["total"]), m["status"],
                  int(m["restarts"]), parse_age(m["age"]), node,
                  parse_age(m["last"]) if m["last"] else None)


def app_of(name: str) -> str:
    """The k8s-app a pod name implies (DaemonSet/Deployment pods are named after it)."""
    if name.startswith(KUBE_CONTROLLERS):
        return KUBE_CONTROLLERS
    return CALICO_NODE if name == CALICO_NODE or name.startswith(CALICO_NODE + "-") else ""


def to_observation(row: PodRow) -> Observation:
    """The pod as one observation of its calico-node container (the pod's only regular
    container); the row's restart count is the pod's, its READY the container's."""
    status = row.status
    if status == "Init:CrashLoopBackOff":  # printPod: an init container in back-off
        state, reason = "waiting", "CrashLoopBackOff"
    elif status.startswith("Init:"):
        state, reason = "waiting", "PodInitializing"
    elif status in WAITING or status in NODE_LOST:
        state, reason = "waiting", status
    elif status in TERMINATED:
        state, reason = "terminated", status
    elif status == "Running":
        state, reason = "running", ""
    else:
        state, reason = "", status
    return Observation(t=row.age_s or 0.0, source="pod", app=app_of(row.name), pod=row.name,
                       node=row.node, container="", phase="Running" if state == "running"
                       else "", restart_count=row.restarts, state=state, reason=reason,
                       ready=row.total > 0 and row.ready == row.total)
