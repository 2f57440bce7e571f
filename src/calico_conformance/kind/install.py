"""Calico onto a cell's cluster, and the evidence gathered from it when a cell is not stable."""

from __future__ import annotations

import json
from pathlib import Path

from .. import calico as calico_mod
from ..calico import CALICO_NODE, NAMESPACE
from ..cells import Cell
from ..errors import KubeApiError
from ..kube import Kube
from ..settings import KindSettings
from .cluster import Cluster


def collect_artifacts(kube: Kube | None, cluster: Cluster, art: Path, exists: bool) -> list[str]:
    """Evidence for a non-stable cell; each step is best effort and says what failed."""
    problems: list[str] = []
    if exists:
        problem = cluster.export_logs(art / "kind-logs")
        if problem:
            problems.append(problem)
    if kube is None:
        return problems
    try:
        pods = kube.list_pods(NAMESPACE, f"k8s-app={CALICO_NODE}")
        (art / "calico-node-pods.json").write_text(json.dumps(pods, indent=2))
        (art / "kube-system-events.json").write_text(
            json.dumps(kube.list_events(NAMESPACE), indent=2))
        for pod in pods.get("items") or []:
            pname = pod["metadata"]["name"]
            for previous in (False, True):
                suffix = ".previous" if previous else ""
                try:
                    text = kube.pod_log(NAMESPACE, pname, CALICO_NODE, previous)
                except KubeApiError as exc:
                    text = f"(not available: {exc})\n"
                (art / f"{pname}{suffix}.log").write_text(text)
    except KubeApiError as exc:
        problems.append(str(exc))
    return problems


def install_calico(kube: Kube, cell: Cell, settings: KindSettings, cluster: Cluster) -> None:
    """CRDs first and Established, then the rest; then every node has its calico-node pod.
    With ``--preload-images`` the Calico images go into the nodes first, so none is pulled."""
    data = calico_mod.fetch_manifest(cell.calico, settings.cache_dir, settings.manifest_dir)
    docs = calico_mod.patch_documents(calico_mod.load_documents(data, cell.calico.manifest_url),
                                      pod_cidr=cell.pod_subnet, registry=settings.registry)
    if settings.preload_images:
        cluster.load_images(calico_mod.images(docs))
    crds, rest = calico_mod.split_crds(docs)
    for doc in crds:
        kube.apply(doc)
    if crds:
        kube.wait_crds_established([d["metadata"]["name"] for d in crds])
    for doc in rest:
        kube.apply(doc)
    # Rolled out = scheduled on every node; whether the pods become Ready is the soak's job.
    kube.wait_daemonset_scheduled(NAMESPACE, CALICO_NODE)
