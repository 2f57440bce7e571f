"""One node per image kept between cells, where booting is a cell's biggest fixed cost.

A VM node boots in 16-21 s under TCG (``benchmarks/RESULTS.md``); a Docker node in about
two. For a backend that says ``reusable``, a cell's node goes back to the pool after the
cell instead of being torn down: it is reset (containerd stopped, every pod slice and
cgroupfs pod directory removed, shims gone) and checked clean, and the next cell of the
same image takes it, writes its own config and restarts containerd through systemd, as
the Docker node does at every cell. A node that cannot be shown clean, a cell that was
interrupted, or a clean-up that CRI refused, ends the node's life instead: a verdict is
never observed on a node that a previous cell may have left dirty. Each cell records how
many cells the node served before it (``node_reuse``). The pool holds at most one idle
node per image, so a worker never holds more VMs than images (``-n`` bounds the rest).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from ..clock import Clock
from ..errors import ConformanceError
from ..signals import shielded
from . import nodeutils as nu
from .backend import Backend, Node

REUSE_FACT = "node_reuse"


@dataclass
class Lease:
    """A node lent to one cell: ``served`` cells ran on it before this one."""

    node: Node
    key: tuple[str, str]
    served: int = 0

    @property
    def started(self) -> bool:
        return self.served > 0


@dataclass(eq=False)
class NodePool:
    idle: dict[tuple[str, str], Lease] = field(default_factory=dict)

    def take(self, backend: Backend, tag: str, run_id: str, clock: Clock) -> Lease:
        """A clean idle node of ``tag``, or a new (not yet started) one."""
        key = (backend.name, tag)
        lease = self.idle.pop(key, None)
        if lease is not None:
            lease.node.facts[REUSE_FACT] = (
                f"cell {lease.served + 1} on this node; between cells: "
                f"{'; '.join(nu.RESET_STEPS)}, then checked clean")
            return lease
        return Lease(backend.node(tag, run_id, clock), key)

    def give_back(self, lease: Lease, keep: bool) -> list[str]:
        """After a cell: keep the node for the next cell when it may be (``keep``: the
        cell ended normally and CRI cleaned up) and resets clean; else tear it down.
        Returns what could not be removed."""
        if keep and lease.node.name:
            left = nu.reset(lease.node)
            if not left:
                old = self.idle.pop(lease.key, None)
                self.idle[lease.key] = Lease(lease.node, lease.key, lease.served + 1)
                return old.node.teardown() if old is not None else []
            return [f"node not reused: {'; '.join(left)}", *lease.node.teardown()]
        return lease.node.teardown()

    def close(self) -> list[str]:
        """Tear down every idle node (the run's end, an interrupt included)."""
        problems: list[str] = []
        with shielded():
            while self.idle:
                _key, lease = self.idle.popitem()
                with contextlib.suppress(ConformanceError, OSError):
                    problems += lease.node.teardown()
        return problems
