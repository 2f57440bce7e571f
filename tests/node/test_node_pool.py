"""The node pool: one node per image serves the next cell only when it resets clean.

Fake nodes answer the reset and the leftover check as a node's shell would; the real
reuse, a driver mismatch followed by its control on one VM, is in ``test_vm_node.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from calico_conformance.clock import Clock, SystemClock
from calico_conformance.node.pool import REUSE_FACT, NodePool


@dataclass
class FakeNode:
    name: str = ""
    clock: Clock = field(default_factory=SystemClock)
    facts: dict[str, str] = field(default_factory=dict)
    left: str = ""  # what the leftover check prints
    torn: bool = False
    calls: list[str] = field(default_factory=list)

    @property
    def cri_endpoint(self) -> str:
        return "127.0.0.1:1"

    def exec(self, *argv: str, timeout: float = 60, stdin: str | None = None) -> tuple[int, str]:
        script = argv[-1]
        self.calls.append("reset" if "systemctl stop containerd" in script else "check")
        return (0, self.left) if "printf" in script else (0, "")

    def start(self, record: Path | None = None) -> None:
        self.name = f"fake-{id(self)}"

    def teardown(self) -> list[str]:
        self.torn = True
        return []


class FakeBackend:
    name = "vm"
    reusable = True

    def __init__(self) -> None:
        self.made: list[FakeNode] = []

    def node(self, tag: str, run_id: str, clock: Clock) -> FakeNode:
        self.made.append(FakeNode(clock=clock))
        return self.made[-1]


def _cell(pool: NodePool, nodes: FakeBackend, tag: str = "trixie", keep: bool = True) -> FakeNode:
    lease = pool.take(nodes, tag, "run", SystemClock())  # type: ignore[arg-type]
    if not lease.started:
        lease.node.start()
    assert not pool.give_back(lease, keep=keep)
    node = lease.node
    assert isinstance(node, FakeNode)
    return node


def test_a_node_that_resets_clean_serves_the_next_cell_of_its_image_and_says_so() -> None:
    pool, nodes = NodePool(), FakeBackend()
    first = _cell(pool, nodes)
    lease = pool.take(nodes, "trixie", "run", SystemClock())  # type: ignore[arg-type]
    assert lease.node is first and lease.started and len(nodes.made) == 1
    assert lease.node.facts[REUSE_FACT].startswith("cell 2 on this node; between cells: "
                                                   "containerd stopped")
    assert first.calls == ["reset", "check"] and not first.torn


def test_another_image_gets_a_node_of_its_own() -> None:
    pool, nodes = NodePool(), FakeBackend()
    _cell(pool, nodes, "trixie")
    lease = pool.take(nodes, "bookworm", "run", SystemClock())  # type: ignore[arg-type]
    assert not lease.started and len(nodes.made) == 2


def test_a_node_with_anything_left_after_its_reset_is_torn_down_not_reused() -> None:
    pool, nodes = NodePool(), FakeBackend()
    lease = pool.take(nodes, "trixie", "run", SystemClock())  # type: ignore[arg-type]
    lease.node.start()
    node = lease.node
    assert isinstance(node, FakeNode)
    node.left = "cgroup /sys/fs/cgroup/kubepods.slice is left"
    said = pool.give_back(lease, keep=True)
    assert said == ["node not reused: cgroup /sys/fs/cgroup/kubepods.slice is left"]
    assert node.torn and not pool.idle


def test_an_interrupted_or_uncleaned_cell_ends_its_node() -> None:
    pool, nodes = NodePool(), FakeBackend()
    node = _cell(pool, nodes, keep=False)
    assert node.torn and node.calls == [] and not pool.idle


def test_the_end_of_the_run_tears_down_every_idle_node() -> None:
    pool, nodes = NodePool(), FakeBackend()
    a, b = _cell(pool, nodes, "trixie"), _cell(pool, nodes, "bookworm")
    assert not a.torn and not b.torn
    assert pool.close() == []
    assert a.torn and b.torn and not pool.idle


class _NoBootNode(FakeNode):
    def start(self, record: Path | None = None) -> None:
        from calico_conformance.errors import NodeUnavailable

        raise NodeUnavailable("the VM node did not boot within its budget of 300s "
                              "(last serial line: [ 1.0] virtio_blk)")


class _NoBootBackend(FakeBackend):
    def node(self, tag: str, run_id: str, clock: Clock) -> FakeNode:
        self.made.append(_NoBootNode(clock=clock))
        return self.made[-1]


def test_a_vm_that_does_not_boot_in_its_budget_leaves_its_cell_not_tested_never_a_pass(
        ) -> None:
    from calico_conformance.catalog import Catalog
    from calico_conformance.cells import NodeCell, Target
    from calico_conformance.model import Verdict
    from calico_conformance.node import parity, run_cell
    from calico_conformance.settings import NodeSettings

    from .conftest import CLUSTERS

    catalog = Catalog(CLUSTERS)
    cell = NodeCell(Target(catalog.variants["systemd-cgroup-off"], catalog.kind["v0.24.0"]),
                    "trixie", backend="vm", cgroup="v2")
    nodes = _NoBootBackend()
    result = run_cell(cell, nodes, "tag", NodeSettings(),  # type: ignore[arg-type]
                      parity=parity.load(CLUSTERS), run_id="r", clock=SystemClock(),
                      pool=NodePool())
    from calico_conformance.model import Outcome

    assert (result.verdict, result.outcome) == (Verdict.UNKNOWN, Outcome.NOT_TESTED)
    assert "did not boot within its budget" in result.not_tested
    assert nodes.made[0].torn
