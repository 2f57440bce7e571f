"""The node-backend seam: a small :class:`Node` and the :class:`Backend` that makes them.

As kind's providers (``pkg/cluster/internal/providers/provider.go``) and its node
interface (``pkg/cluster/nodes/types.go``): a backend starts, lists and removes nodes; a
node runs commands and names its CRI endpoint; everything done *inside* a node
(systemd units, containerd restarts, config and cgroup files) is a free function over
:class:`Node` in :mod:`.nodeutils`, so the emulated kubelet never knows which backend it
runs on. Backends are registered by name in :data:`BACKENDS`; a new one is one module
plus one entry there.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

from ..clock import Clock
from ..errors import InputError


class Node(Protocol):
    """One running node, whatever runs it."""

    name: str
    clock: Clock
    facts: dict[str, str]  # what the backend knows of the node (its image, container, ...)

    @property
    def cri_endpoint(self) -> str:
        """Where the node's containerd serves CRI, as the host reaches it (a unix socket
        path or a host:port)."""
        ...

    def exec(self, *argv: str, timeout: float = 60,
             stdin: str | None = None) -> tuple[int, str]: ...

    def start(self, record: Path | None = None) -> None:
        """Start the node; ``record`` (the run's started.jsonl) names it first."""
        ...

    def teardown(self) -> list[str]:
        """Stop and remove the node and all it left on the host; returns what remains."""
        ...


class Backend(Protocol):
    """A way to run nodes (kind's provider): Docker containers, virtual machines, ..."""

    name: str
    reusable: bool  # a node serves the next cell of its image after a reset (:mod:`.pool`)

    def unavailable(self) -> str | None:
        """None when nodes can run here, else why (a cell is then not run)."""
        ...

    def image_missing(self, tag: str, recipe: str) -> str | None:
        """None when the recipe's image is built, else what to run to build it."""
        ...

    def node(self, tag: str, run_id: str, clock: Clock) -> Node: ...

    def reap(self, entry: dict[str, object], clock: Clock) -> list[str] | None:
        """Remove what is left of the node a dead run's record names: what was done and
        what could not be; None when the entry is not one of this backend's."""
        ...

    def live(self) -> dict[str, str]:
        """Every node of the suite's that exists now: name -> run id."""
        ...


# name -> "module:class", imported when used (a backend may pull in what others do not).
BACKENDS = {"docker": "calico_conformance.node.docker_node:DockerBackend",
            "vm": "calico_conformance.node.vm_node:VmBackend"}


def backend(name: str = "docker", binary: str | None = None) -> Backend:
    where = BACKENDS.get(name)
    if where is None:
        raise InputError(f"unknown node backend {name!r} (known: {', '.join(BACKENDS)})")
    module, cls = where.split(":")
    made: Backend = getattr(importlib.import_module(module), cls)(binary)
    return made
