"""Fixtures for the node tier's tests. Real-node tests skip with the reason where they
cannot run: no root, no dockerd, or a node image not built yet."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import tomli_w

from calico_conformance.catalog import Catalog
from calico_conformance.cells import NodeCell, Target
from calico_conformance.clock import Clock, SystemClock
from calico_conformance.cri.client import CriClient
from calico_conformance.cri.waits import wait_ready
from calico_conformance.model import CellResult
from calico_conformance.node import Node, PodTemplate, backend, parity
from calico_conformance.node import nodeutils as nu
from calico_conformance.node import run_cell as run_node_cell
from calico_conformance.node.cell import adapt
from calico_conformance.node.recipes import Recipe, load_recipes
from calico_conformance.observe import StepRecord
from calico_conformance.settings import NodeSettings

CLUSTERS = Path(__file__).resolve().parents[2] / "clusters"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(CLUSTERS)


@pytest.fixture(scope="session")
def recipes() -> dict[str, Recipe]:
    return load_recipes(CLUSTERS)


@dataclass(frozen=True)
class NodeImage:
    recipe: str
    tag: str


def built_image(recipes: dict[str, Recipe], name: str) -> NodeImage:
    """The recipe's image, or a skip saying how to build it."""
    nodes = backend()
    reason = nodes.unavailable() or nodes.image_missing(recipes[name].tag, name)
    if reason:
        pytest.skip(f"node tier unavailable: {reason}")
    return NodeImage(name, recipes[name].tag)


NO_PROBES = PodTemplate()


def run_cell(cell: NodeCell, image: NodeImage, settings: NodeSettings, run_id: str,
             clock: Clock | None = None, pod: PodTemplate = NO_PROBES) -> CellResult:
    return run_node_cell(cell, backend(), image.tag, settings, parity=parity.load(CLUSTERS),
                         run_id=run_id,
                         clock=clock or SystemClock(), pod=pod)


@pytest.fixture
def run_id() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@dataclass
class Ready:
    node: Node
    pods: CriClient
    obs: StepRecord


@pytest.fixture
def ready_node(recipes: dict[str, Recipe], catalog: Catalog, run_id: str,
               request: pytest.FixtureRequest) -> Iterator[Ready]:
    """A booted bookworm node running ``variant`` (param; default baseline), CRI ready,
    local images imported. Torn down (and checked empty) afterwards."""
    variant = getattr(request, "param", "baseline")
    image = built_image(recipes, "bookworm")
    recipe = recipes["bookworm"]
    obs = StepRecord()
    node = backend().node(image.tag, run_id, SystemClock())
    client = None
    try:
        node.start()
        nu.read_facts(node, image.recipe, nu.wait_booted(node))
        config = adapt(Target(catalog.variants[variant], catalog.kind[recipe.kind]
                              ).effective.data, obs.overrides, node)
        nu.write_file(node, nu.CONFIG, tomli_w.dumps(config))
        up = nu.restart_containerd(node)
        assert up.at_endpoint, up.journal
        client = CriClient(node.cri_endpoint)
        assert wait_ready(client, node.clock, 20.0).ready
        nu.import_images(node, ["registry.k8s.io/pause:3.10"])
        yield Ready(node, client, obs)
    finally:
        if client is not None:
            client.close()
        problems = node.teardown()
        assert not problems, problems
