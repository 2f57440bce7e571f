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
from calico_conformance.cells import Target
from calico_conformance.clock import SystemClock
from calico_conformance.node import node_available
from calico_conformance.node.cell import NodeImage, adapt
from calico_conformance.node.docker import find_docker
from calico_conformance.node.judge import NodeObservation
from calico_conformance.node.lifecycle import Node
from calico_conformance.node.pods import CriCallError, Pods
from calico_conformance.node.recipes import Recipe, load_recipes

CLUSTERS = Path(__file__).resolve().parents[2] / "clusters"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(CLUSTERS)


@pytest.fixture(scope="session")
def recipes() -> dict[str, Recipe]:
    return load_recipes(CLUSTERS)


def built_image(recipes: dict[str, Recipe], name: str) -> NodeImage:
    """The recipe's image, or a skip saying how to build it."""
    import os

    if os.geteuid() != 0:
        pytest.skip("the node tier needs root (docker, cgroups)")
    reason = node_available()
    if reason:
        pytest.skip(f"node tier unavailable: {reason}")
    recipe = recipes[name]
    if find_docker().image_labels(recipe.tag) is None:
        pytest.skip(f"node image {recipe.tag} not built (run: calico-conformance nodes build "
                    f"{name})")
    return NodeImage(recipe.name, recipe.tag)


@pytest.fixture
def run_id() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


@dataclass
class Ready:
    node: Node
    pods: Pods
    obs: NodeObservation


@pytest.fixture
def ready_node(recipes: dict[str, Recipe], catalog: Catalog, run_id: str,
               request: pytest.FixtureRequest) -> Iterator[Ready]:
    """A booted bookworm node running ``variant`` (param; default baseline), CRI ready,
    local images imported. Torn down (and checked empty) afterwards."""
    variant = getattr(request, "param", "baseline")
    image = built_image(recipes, "bookworm")
    recipe = recipes["bookworm"]
    obs = NodeObservation()
    config = adapt(Target(catalog.variants[variant], catalog.kind[recipe.kind]).effective.data,
                   obs)
    node = Node(find_docker(), image.tag, run_id, SystemClock())
    client = None
    try:
        node.start()
        node.read_facts(image.recipe, node.wait_booted())
        node.write_config(tomli_w.dumps(config))
        active, journal = node.restart_containerd()
        assert active, journal
        client = node.client()
        pods = Pods(client)
        for _ in range(40):
            try:
                if client.status().runtime_ready:
                    break
            except CriCallError:  # CRI still starting
                pass
            node.clock.sleep(0.5)
        node.import_images("registry.k8s.io/pause:3.10")
        yield Ready(node, pods, obs)
    finally:
        if client is not None:
            client.close()
        problems = node.teardown()
        assert not problems, problems
