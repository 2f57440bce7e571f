"""Cluster names and the node check's comparison."""

from __future__ import annotations

from pathlib import Path

from calico_conformance.catalog import Catalog
from calico_conformance.kind import NAME_PREFIX, cluster_name
from calico_conformance.kind.nodes import compare


def test_cluster_names_are_unique_per_run_and_cell_and_fit_a_hostname(clusters_dir: Path) -> None:
    cells = Catalog(clusters_dir).profile("release").cells
    names = {cluster_name("20261129-060000", c) for c in cells}
    assert len(names) == len(cells)
    assert all(n.startswith(NAME_PREFIX + "-") and len(n) <= 49 for n in names)
    assert cluster_name("run-a", cells[0]) != cluster_name("run-b", cells[0])


def test_compare_names_every_differing_key_by_its_dotted_path() -> None:
    predicted = {"version": 2, "plugins": {"cri": {"SystemdCgroup": True, "x": 1}}}
    actual = {"version": 2, "plugins": {"cri": {"SystemdCgroup": False}}}
    assert compare(predicted, actual) == [
        "plugins.cri.SystemdCgroup: predicted True, node has False",
        "plugins.cri.x: predicted 1, node has '<unset>'",
    ]
    assert compare(predicted, predicted) == []
