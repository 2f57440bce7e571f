"""The Docker node backend: a kind-style node container (systemd as PID 1) per cell.

As kind starts its nodes (``pkg/cluster/internal/providers/docker``): the node boots the
image's containerd, and the CRI socket is reached through ``/run/containerd``
bind-mounted from a host directory. Tear-down stops the node (systemd cleans its own
cgroups on SIGRTMIN+3), removes it by its run label, and removes what a killed node's
systemd left in the host's cgroup tree.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .. import runrecord
from ..clock import Clock
from ..errors import ConformanceError, ToolMissing
from ..hostcgroups import remove_container_tree
from ..signals import shielded
from .docker import ADAPTATIONS, Docker, find_docker

NAME_PREFIX = "ccnode-"  # every node container's name; its label holds the run id
SOCKET_PREFIX = "ccn-"  # the node's CRI socket directory, under the temp dir


@dataclass
class DockerNode:
    docker: Docker
    image: str
    run_id: str
    clock: Clock
    name: str = ""
    socket_dir: Path = field(default_factory=Path)
    container_id: str = ""
    facts: dict[str, str] = field(default_factory=dict)

    @property
    def cri_endpoint(self) -> str:
        return str(self.socket_dir / "containerd.sock")

    def exec(self, *argv: str, timeout: float = 60, stdin: str | None = None) -> tuple[int, str]:
        res = self.docker.exec(self.name, *argv, timeout=timeout, stdin=stdin)
        return res.returncode, (res.stdout + res.stderr).strip()

    def start(self, record: Path | None = None) -> None:
        """Start the node; the run's record names it first, so a ``kill -9`` at any moment
        leaves nothing the reaper (:mod:`..reap`) cannot find."""
        token = uuid.uuid4().hex[:8]
        with shielded():  # the node and its record appear together, or not at all
            self.name = f"{NAME_PREFIX}{self.run_id[:20]}-{token}"
            # Short and under /tmp: the socket path must fit sun_path (108 bytes).
            self.socket_dir = Path(tempfile.mkdtemp(prefix=f"{SOCKET_PREFIX}{token}-"))
            runrecord.append(record, "node", name=self.name, run_id=self.run_id,
                             socket_dir=str(self.socket_dir), docker=self.docker.binary)
            self.container_id = self.docker.start_node(self.name, self.image, self.run_id,
                                                       self.socket_dir)
        self.facts.update({"backend": "docker", "node_image": self.image,
                           "node_container": self.container_id,
                           "docker": self.docker.server_version()})
        for i, line in enumerate(ADAPTATIONS):
            self.facts[f"adaptation{i + 1}"] = line

    def teardown(self) -> list[str]:
        problems: list[str] = []
        if self.name:
            self.docker.run("stop", "--time", "10", self.name, check=False, timeout=60)
            if not self.docker.remove(self.name):
                problems.append(f"container {self.name} could not be removed")
        if self.container_id:
            problems += remove_container_tree(self.container_id)
        if self.socket_dir != Path() and self.socket_dir.exists():
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        return problems


class DockerBackend:
    """Nodes as Docker containers (needs root and a running dockerd)."""

    name = "docker"
    reusable = False  # a container boots in about 2 s: every cell gets a fresh one

    def __init__(self, binary: str | None = None) -> None:
        self._binary = binary
        self._docker: Docker | None = None

    @property
    def docker(self) -> Docker:
        if self._docker is None:
            self._docker = find_docker(self._binary)
        return self._docker

    def unavailable(self) -> str | None:
        if os.geteuid() != 0:
            return "the node tier needs root (docker, the node's cgroups)"
        try:
            self.docker.server_version()
        except ConformanceError as exc:
            return f"{exc} (the node tier needs a running dockerd; see .ci/run)"
        return None

    def image_missing(self, tag: str, recipe: str) -> str | None:
        if self.docker.image_labels(tag) is None:
            return (f"node image {tag} is not built (run: calico-conformance nodes build "
                    f"{recipe})")
        return None

    def node(self, tag: str, run_id: str, clock: Clock) -> DockerNode:
        return DockerNode(self.docker, tag, run_id, clock)

    def reap(self, entry: dict[str, object], clock: Clock) -> list[str] | None:
        node = self.recorded(entry, clock)
        if node is None:
            return None
        if node.name:
            what = "removed"
        elif node.socket_dir.exists():
            what = "socket directory removed (no container of that run by that name)"
        else:
            return []  # nothing of it is left
        return node.teardown() or [what]

    def recorded(self, entry: dict[str, object], clock: Clock) -> DockerNode | None:
        """The node a record names, as far as it still exists; a container is touched
        only if it still carries the recorded run's label."""
        name, run_id = entry.get("name"), entry.get("run_id")
        sock, binary = entry.get("socket_dir"), entry.get("docker")
        if not (isinstance(name, str) and isinstance(run_id, str) and isinstance(sock, str)
                and isinstance(binary, str) and name.startswith(NAME_PREFIX)
                and Path(sock).name.startswith(SOCKET_PREFIX)
                and Path(sock).parent == Path(tempfile.gettempdir())):
            return None
        try:  # the configured docker, never the binary the record names
            node = DockerNode(find_docker(self._binary), "", run_id, clock,
                              socket_dir=Path(sock))
            found = node.docker.owner(name)
        except ToolMissing:  # docker gone since: only the socket directory is ours to remove
            node = DockerNode(Docker(""), "", run_id, clock, socket_dir=Path(sock))
            found = None
        if found is not None and found[1] == run_id:
            node.name, node.container_id = name, found[0]
        return node

    def live(self) -> dict[str, str]:
        return self.docker.names()
