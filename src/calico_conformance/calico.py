"""Calico manifests: fetch by pinned URL, verify sha256, cache, patch for the cell.

The pin in ``clusters/calico/versions.toml`` is the source of truth: a manifest
whose digest differs is refused, wherever it came from (network, cache, or the
``--calico-manifest-dir`` offline mirror laid out as ``<tag>/calico.yaml``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from .cells import CalicoRelease
from .download import fetch_pinned, verify
from .errors import DownloadFailed, ManifestError, PinMismatch

DOWNLOAD_TIMEOUT_S = 60.0
# Calico's own names in its manifests: the namespace, the DaemonSet and its container,
# and the controllers' Deployment (manifests/calico.yaml).
NAMESPACE = "kube-system"
CALICO_NODE = "calico-node"
KUBE_CONTROLLERS = "calico-kube-controllers"
UPSTREAM_REGISTRY = "docker.io/calico"


def fetch_manifest(release: CalicoRelease, cache_dir: Path,
                   mirror_dir: Path | None = None) -> bytes:
    """The verified manifest bytes: mirror, else cache, else download (then cache)."""
    try:
        if mirror_dir is not None:
            path = mirror_dir / release.version / "calico.yaml"
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ManifestError(f"--calico-manifest-dir: {path}: {exc.strerror}") from exc
            return verify(data, release.sha256, str(path))
        return fetch_pinned(release.manifest_url, release.sha256,
                            cache_dir / "calico" / release.version / "calico.yaml",
                            timeout_s=DOWNLOAD_TIMEOUT_S)
    except PinMismatch as exc:
        raise ManifestError(f"{exc} for Calico {release.version} "
                            f"(clusters/calico/versions.toml)") from exc
    except DownloadFailed as exc:
        raise ManifestError(f"{exc} (offline? use --calico-manifest-dir DIR with "
                            f"{release.version}/calico.yaml)") from exc


def load_documents(data: bytes, source: str = "manifest") -> list[dict[str, Any]]:
    try:
        return [d for d in yaml.safe_load_all(data) if isinstance(d, dict)]
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: not valid YAML: {exc}") from exc


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def patch_documents(docs: list[dict[str, Any]], *, pod_cidr: str,
                    registry: str | None = None) -> list[dict[str, Any]]:
    """Point the IPv4 pool at the cluster's podSubnet; optionally swap the image registry."""
    out = copy.deepcopy(docs)
    for doc in out:
        if doc.get("kind") == "DaemonSet" and doc.get("metadata", {}).get("name") == CALICO_NODE:
            for c in doc["spec"]["template"]["spec"]["containers"]:
                if c.get("name") != CALICO_NODE:
                    continue
                env = [e for e in c.get("env") or [] if e.get("name") != "CALICO_IPV4POOL_CIDR"]
                env.append({"name": "CALICO_IPV4POOL_CIDR", "value": pod_cidr})
                c["env"] = env
        if registry:
            for c in _containers(doc):
                image = str(c.get("image", ""))
                if image.startswith(UPSTREAM_REGISTRY + "/"):
                    c["image"] = registry.rstrip("/") + image[len(UPSTREAM_REGISTRY):]
    return out


def split_crds(docs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
    rest = [d for d in docs if d.get("kind") != "CustomResourceDefinition"]
    return crds, rest


def images(docs: list[dict[str, Any]]) -> list[str]:
    return sorted({str(c.get("image")) for d in docs for c in _containers(d) if c.get("image")})
