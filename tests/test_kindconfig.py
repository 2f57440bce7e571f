"""Rendered kind Cluster configs: the shape kind documents, checked against goldens."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tests.golden import check_golden

from calico_conformance.catalog import Catalog
from calico_conformance.cells import Cell
from calico_conformance.kind.config import (
    LABEL_CELL,
    LABEL_VARIANT,
    dump_kind_config,
    render_kind_config,
)

GOLDEN_VARIANTS = ["baseline", "kubelet-cgroupfs", "systemd-cgroup-typo", "report-9524",
                   "config-version-3"]


@pytest.fixture
def cells(clusters_dir: Path) -> dict[str, Cell]:
    """One cell per shipped variant: the default profile's newest Calico."""
    profile = Catalog(clusters_dir).profile("default")
    newest = max(c.calico.version for c in profile.cells)
    return {c.variant.name: c for c in profile.cells if c.calico.version == newest}


@pytest.mark.parametrize("variant", GOLDEN_VARIANTS)
def test_the_rendered_kind_config_matches_its_golden(cells, variant, update_goldens):
    text = dump_kind_config(render_kind_config(cells[variant], "cc-golden"))
    check_golden(f"kind/{variant}.yaml", text, update_goldens)


def test_every_node_is_digest_pinned_and_labelled_with_exactly_cell_and_variant(cells):
    for cell in cells.values():
        cfg = yaml.safe_load(dump_kind_config(render_kind_config(cell, "c")))
        roles = [n["role"] for n in cfg["nodes"]]
        assert roles == ["control-plane"] + ["worker"] * cell.workers
        for node in cfg["nodes"]:
            assert "@sha256:" in node["image"] and node["image"] == cell.point.node_image
            assert node["labels"] == {LABEL_CELL: cell.id, LABEL_VARIANT: cell.variant.name}


def test_the_cluster_header_and_networking_follow_kinds_v1alpha4_api(cells):
    cell = cells["baseline"]
    cfg = render_kind_config(cell, "my-cluster")
    assert list(cfg)[:3] == ["kind", "apiVersion", "name"]
    assert (cfg["kind"], cfg["apiVersion"], cfg["name"]) == (
        "Cluster", "kind.x-k8s.io/v1alpha4", "my-cluster")
    assert cfg["networking"] == {"disableDefaultCNI": True, "podSubnet": cell.pod_subnet}


def test_a_variant_without_toml_gets_no_containerd_patches(cells):
    cfg = render_kind_config(cells["baseline"], "c")
    assert "containerdConfigPatches" not in cfg
    assert "containerdConfigPatchesJSON6902" not in cfg and "kubeadmConfigPatches" not in cfg


def test_the_variant_text_is_the_containerd_patch_verbatim(cells):
    cell = cells["report-9524"]
    cfg = yaml.safe_load(dump_kind_config(render_kind_config(cell, "c")))
    assert cfg["containerdConfigPatches"] == [cell.variant.text]


def test_json6902_operations_become_a_containerd_json6902_patch(cells):
    cell = cells["systemd-cgroup-typo"]
    cfg = yaml.safe_load(dump_kind_config(render_kind_config(cell, "c")))
    (ops,) = cfg["containerdConfigPatchesJSON6902"]
    assert yaml.safe_load(ops) == [dict(op) for op in cell.variant.json6902]


def test_kubelet_settings_become_a_kubelet_configuration_patch(cells):
    cell = cells["kubelet-cgroupfs"]
    cfg = render_kind_config(cell, "c")
    (patch,) = cfg["kubeadmConfigPatches"]
    doc = yaml.safe_load(patch)
    assert doc["kind"] == "KubeletConfiguration"
    assert doc["apiVersion"] == "kubelet.config.k8s.io/v1beta1"
    assert doc["cgroupDriver"] == cell.variant.kubelet["cgroupDriver"]


def test_dumping_is_stable_and_round_trips(cells):
    for cell in cells.values():
        cfg = render_kind_config(cell, "c")
        text = dump_kind_config(cfg)
        assert text == dump_kind_config(render_kind_config(cell, "c"))
        assert yaml.safe_load(text) == cfg


@pytest.mark.parametrize("as_is", [True, False], ids=["whole config", "patch"])
def test_a_variants_own_imports_are_mounted_where_containerd_looks(
        cells: dict[str, Cell], tmp_path: Path, as_is: bool) -> None:
    """containerd resolves a relative import beside config.toml; without the file there the
    node refuses the config and the cell would blame the variant for our missing file."""
    import dataclasses

    from calico_conformance.cells import Target
    from calico_conformance.variants import load_variant
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "extra.toml").write_text("version = 2\n")
    (tmp_path / "mine.toml").write_text('version = 2\nimports = ["conf.d/extra.toml"]\n')
    cell = cells["baseline"]
    variant = load_variant(tmp_path / "mine.toml", as_is=as_is)
    cell = dataclasses.replace(cell, target=Target(variant, cell.target.kind))
    cfg = render_kind_config(cell, "c")
    want = {"hostPath": str(tmp_path / "conf.d" / "extra.toml"),
            "containerPath": "/etc/containerd/conf.d/extra.toml", "readOnly": True}
    assert all(want in node["extraMounts"] for node in cfg["nodes"])
