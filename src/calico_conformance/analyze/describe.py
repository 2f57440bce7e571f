"""``kubectl describe pod`` text, whole or cut off anywhere.

Read line by line with indentation as the only structure kubectl gives: top-level keys
(``Name:``, ``Labels:``, ``Init Containers:``, ``Containers:``, ``Conditions:``,
``Events:``), container names (lowercase DNS labels, which keys never are), container keys
(``State:``, ``Last State:``, ``Ready:``, ``Restart Count:``) and their sub-keys
(``Reason:``, ``Exit Code:``). Blocks we do not need (``Environment:``, ``Mounts:``,
``Volumes:``...) are skipped by indentation. A paste that starts inside a container gets an
unnamed container; one that stops mid-block keeps everything before the cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# The value is greedy: a lazy one before ``\s*$`` is quadratic in a run of spaces.
KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Z][A-Za-z -]*?):(?:\s+(?P<value>\S.*))?\s*$")
CONTAINER = re.compile(r"^(?P<indent> {0,3})(?P<name>[a-z0-9][a-z0-9.-]*):\s*$")
LABEL = re.compile(r"^\s+(?P<k>[\w./-]+)=(?P<v>\S*)\s*$")
CONDITION = re.compile(r"^\s*(?P<type>[A-Za-z]+)\s+(?P<status>True|False|Unknown)\s*$")
TOP = {"Name", "Namespace", "Priority", "Priority Class Name", "Runtime Class Name",
       "Service Account", "Node", "Start Time", "Labels", "Annotations", "Status", "Reason",
       "Message", "IP", "IPs", "Controlled By", "Init Containers", "Containers",
       "Conditions", "Volumes", "QoS Class", "Node-Selectors", "Tolerations", "Events",
       "Nominated Node Name", "Readiness Gates", "SeccompProfile"}
CONTAINER_KEYS = {"Container ID", "Image", "Image ID", "Port", "Ports", "Host Port",
                  "Host Ports", "Command", "Args", "State", "Last State", "Ready",
                  "Restart Count", "Requests", "Limits", "Liveness", "Readiness", "Startup",
                  "Environment", "Environment Variables from", "Mounts", "SeccompProfile",
                  "Restart Policy"}
STATE_KEYS = {"Reason", "Exit Code", "Started", "Finished", "Message", "Signal"}
USED = {"Name", "Namespace", "Node", "Labels", "Status", "State", "Last State", "Ready",
        "Restart Count", "Reason", "Exit Code", "Image", "Init Containers", "Containers",
        "Conditions", "Events"}
SKIP_BLOCKS = {"Command", "Args", "Requests", "Limits", "Environment", "Mounts",
               "Environment Variables from", "Annotations", "IPs", "Volumes", "Tolerations",
               "Node-Selectors", "Readiness Gates"}


@dataclass
class Container:
    name: str
    init: bool | None  # None: a paste that starts inside a container section
    image: str = ""
    status: dict[str, Any] = field(default_factory=dict)

    def api(self) -> dict[str, Any]:
        return {"name": self.name, **self.status}


@dataclass
class DescribedPod:
    first_line: int
    name: str = ""
    namespace: str = ""
    node: str = ""
    phase: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    containers: list[Container] = field(default_factory=list)
    ready: bool | None = None
    last_line: int = 0
    cut: str = ""  # where the paste stopped, when it stopped inside a block

    @property
    def shows_status(self) -> bool:
        return bool(self.containers or self.phase or self.ready is not None)

    def api(self) -> dict[str, Any]:
        """The Pod object this describe shows, as the API would send it."""
        regular = [c.api() for c in self.containers if not c.init]
        init = [c.api() for c in self.containers if c.init]
        return {"metadata": {"name": self.name, "namespace": self.namespace,
                             "labels": dict(self.labels)},
                "spec": {"nodeName": self.node},
                "status": {"phase": self.phase, "containerStatuses": regular,
                           "initContainerStatuses": init}}


class DescribeReader:
    """Feeds on lines; ``feed`` says whether a line belonged to a describe and was used."""

    def __init__(self) -> None:
        self.pods: list[DescribedPod] = []
        self.section = ""  # top-level key we are under
        self.container: Container | None = None
        self.target = ""  # "state" | "lastState" while reading state sub-keys
        self.skip_indent: int | None = None  # inside a block we do not need
        self.in_labels = False

    @property
    def pod(self) -> DescribedPod | None:
        return self.pods[-1] if self.pods else None

    def _new_pod(self, lineno: int) -> DescribedPod:
        pod = DescribedPod(first_line=lineno)
        self.pods.append(pod)
        self.section, self.container, self.target = "", None, ""
        return pod

    def _ensure_pod(self, lineno: int) -> DescribedPod:
        return self.pod or self._new_pod(lineno)

    def feed(self, lineno: int, line: str) -> str | None:
        """"read", "skipped" or None (not describe text)."""
        indent = len(line) - len(line.lstrip(" "))
        if self.skip_indent is not None:
            if line.strip() and indent > self.skip_indent:
                return self._touch(lineno, "skipped")
            self.skip_indent = None
        if self.in_labels:
            m = LABEL.match(line)
            if m and self.pod is not None:
                self.pod.labels[m["k"]] = m["v"]
                return self._touch(lineno, "read")
            self.in_labels = False
        if self.section == "Conditions" and (m := CONDITION.match(line)):
            if m["type"] == "Ready" and self.pod is not None:
                self.pod.ready = m["status"] == "True"
            return self._touch(lineno, "read")
        if self.section == "Conditions" and re.match(r"^\s*Type\s+Status\s*$", line):
            return self._touch(lineno, "skipped")
        m = CONTAINER.match(line)
        if m and self.section in ("Init Containers", "Containers"):
            self.container = Container(m["name"], self.section == "Init Containers")
            self._ensure_pod(lineno).containers.append(self.container)
            self.target = ""
            return self._touch(lineno, "read")
        k = KEY.match(line)
        if k is None:
            return None
        return self._key(lineno, len(k["indent"]), k["key"], (k["value"] or "").rstrip())

    def _key(self, lineno: int, indent: int, key: str, value: str) -> str | None:
        if key == "Name" and indent == 0:
            pod = self._new_pod(lineno)
            pod.name = value
            return self._touch(lineno, "read")
        if key in TOP and indent <= 1 and not (key in ("Reason", "Message") and self.container):
            return self._top(lineno, key, value)
        if key in CONTAINER_KEYS and self.section not in ("Volumes",):
            return self._container_key(lineno, indent, key, value)
        if key in STATE_KEYS and self.container is not None and self.target:
            self._state_detail(key, value)
            return self._touch(lineno, "read")
        if self.section in ("Volumes", "Tolerations") or key in SKIP_BLOCKS:
            return self._touch(lineno, "skipped")
        return None

    def _top(self, lineno: int, key: str, value: str) -> str:
        pod = self._ensure_pod(lineno)
        self.section, self.container, self.target = key, None, ""
        if key == "Namespace":
            pod.namespace = value
        elif key == "Node":
            pod.node = value.split("/", 1)[0] if value != "<none>" else ""
        elif key == "Status":
            pod.phase = value
        elif key == "Labels":
            if "=" in value:
                k, _, v = value.partition("=")
                pod.labels[k] = v
            self.in_labels = True
        if key in SKIP_BLOCKS:
            self.skip_indent = 0
        return self._touch(lineno, "read" if key in USED else "skipped")

    def _container_key(self, lineno: int, indent: int, key: str, value: str) -> str:
        pod = self._ensure_pod(lineno)
        if self.container is None:  # the paste starts inside a container section
            self.container = Container("", None)
            pod.containers.append(self.container)
        c = self.container
        self.target = ""
        if key in ("State", "Last State"):
            self.target = "state" if key == "State" else "lastState"
            c.status[self.target] = {value.lower(): {}} if value else {}
        elif key == "Ready":
            c.status["ready"] = value == "True"
        elif key == "Restart Count" and re.fullmatch(r"\d{1,10}", value):
            c.status["restartCount"] = int(value)
        elif key == "Image":
            c.image = value
        if key in SKIP_BLOCKS:
            self.skip_indent = indent
        return self._touch(lineno, "read" if key in USED else "skipped")

    def _state_detail(self, key: str, value: str) -> None:
        assert self.container is not None
        state = self.container.status.get(self.target) or {}
        if not state:
            return
        detail = next(iter(state.values()))
        if key == "Reason":
            detail["reason"] = value
        elif key == "Exit Code" and re.fullmatch(r"-?\d{1,10}", value):
            detail["exitCode"] = int(value)
        elif key == "Message":
            detail["message"] = value

    def _touch(self, lineno: int, status: str) -> str:
        if self.pod is not None:
            self.pod.last_line = lineno
        return status

    def finish(self) -> list[str]:
        """Name the containers a paste cut off from their header; say what was assumed."""
        assumed = []
        for pod in self.pods:
            for c in pod.containers:
                if c.init is not None:
                    continue
                image = c.image.rsplit("/", 1)[-1]
                if image.startswith("node:") or c.image.endswith("/node"):
                    c.name, c.init = "calico-node", False
                    why = f"its image {c.image}"
                elif image.startswith(("cni:", "pod2daemon-flexvol:")):
                    c.name, c.init = image.split(":", 1)[0], True
                    why = f"its image {c.image} (an init container)"
                else:
                    c.name, c.init = "calico-node", False
                    why = "no header or image: assumed to be calico-node"
                assumed.append(f"line {pod.first_line}: the paste starts inside a container "
                               f"section; named {c.name} from {why}")
            if self.container is not None and pod is self.pod and self.section in (
                    "Init Containers", "Containers"):
                pod.cut = f"inside container {self.container.name or '(unnamed)'}"
        return assumed
