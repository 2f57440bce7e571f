"""Render a matrix cell as a kind Cluster config (kind.x-k8s.io/v1alpha4).

The node labels are how everything downstream finds a cell's nodes, so they are
exactly two stable keys. Shapes follow kind's docs: per-node ``labels`` (kind
configuration guide, "Extra Labels") and a ``KubeletConfiguration`` document in
``kubeadmConfigPatches`` (site/content/docs/user/kind-example-config.yaml).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

import yaml

from ..containerd.imports import staged_imports

if TYPE_CHECKING:
    from ..cells import Cell

LABEL_CELL = "calico-conformance.io/cell"
LABEL_VARIANT = "calico-conformance.io/variant"
KIND_API_VERSION = "kind.x-k8s.io/v1alpha4"
KUBELET_API_VERSION = "kubelet.config.k8s.io/v1beta1"
CONTAINERD_CONFIG = "/etc/containerd/config.toml"


def node_labels(cell: Cell) -> dict[str, str]:
    return {LABEL_CELL: cell.id, LABEL_VARIANT: cell.variant.name}


def kubelet_patch(kubelet: dict[str, Any]) -> str:
    """A kubeadmConfigPatches entry setting the variant's KubeletConfiguration fields."""
    doc = {"kind": "KubeletConfiguration", "apiVersion": KUBELET_API_VERSION, **kubelet}
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def render_kind_config(cell: Cell, cluster_name: str) -> dict[str, Any]:
    """The Cluster config kind gets for ``cell`` (plain data; see :func:`dump_kind_config`)."""
    image = cell.point.node_image
    labels = node_labels(cell)
    nodes: list[dict[str, Any]] = [{"role": "control-plane", "image": image,
                                    "labels": dict(labels)}]
    nodes += [{"role": "worker", "image": image, "labels": dict(labels)}
              for _ in range(cell.workers)]
    mounts: list[dict[str, Any]] = []
    if cell.variant.as_is:
        # The user's whole file replaces the node's config: mounted read-only over it
        # (kind's "Extra Mounts"); kind writes the file only when there are patches.
        mounts.append({"hostPath": str(cell.variant.path.resolve()),
                       "containerPath": CONTAINERD_CONFIG, "readOnly": True})
    # The variant's own imports, where containerd resolves them: beside config.toml.
    folder = cell.variant.path.parent
    mounts += [{"hostPath": str((folder / rel).resolve()),
                "containerPath": f"{posixpath.dirname(CONTAINERD_CONFIG)}/{rel}",
                "readOnly": True}
               for rel, _text in staged_imports(cell.target.effective.data, folder)]
    if mounts:
        for node in nodes:
            node["extraMounts"] = [dict(m) for m in mounts]
    cfg: dict[str, Any] = {
        "kind": "Cluster",
        "apiVersion": KIND_API_VERSION,
        "name": cluster_name,
        "nodes": nodes,
        "networking": {"disableDefaultCNI": True, "podSubnet": cell.pod_subnet},
    }
    if cell.variant.patches:
        cfg["containerdConfigPatches"] = list(cell.variant.patches)
    if cell.variant.patches6902:
        cfg["containerdConfigPatchesJSON6902"] = list(cell.variant.patches6902)
    if cell.variant.kubelet:
        cfg["kubeadmConfigPatches"] = [kubelet_patch(cell.variant.kubelet)]
    return cfg


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (TOML patches) as literal blocks, readable in the artifact."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def dump_kind_config(cfg: dict[str, Any]) -> str:
    """YAML in the key order :func:`render_kind_config` built (stable across runs)."""
    return yaml.dump(cfg, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=4096)
