"""Calico manifests are verified against their pin and patched for the cell."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from calico_conformance import calico
from calico_conformance.catalog import Catalog
from calico_conformance.errors import ManifestError


def _release(clusters_dir: Path, version: str = "v3.28.2") -> calico.CalicoRelease:
    return Catalog(clusters_dir).calico[version]


def test_the_offline_mirror_is_verified_against_the_pinned_sha256(
        tmp_path: Path, clusters_dir: Path, shared_fixtures: Path) -> None:
    for version in ("v3.26.4", "v3.28.2"):
        data = calico.fetch_manifest(_release(clusters_dir, version), tmp_path,
                                     shared_fixtures / "calico")
        assert hashlib.sha256(data).hexdigest() == _release(clusters_dir, version).sha256


def test_a_manifest_that_does_not_match_its_pin_is_refused(tmp_path: Path,
                                                          clusters_dir: Path) -> None:
    mirror = tmp_path / "mirror" / "v3.28.2"
    mirror.mkdir(parents=True)
    (mirror / "calico.yaml").write_text("kind: List\n")
    with pytest.raises(ManifestError, match="does not match the pin"):
        calico.fetch_manifest(_release(clusters_dir), tmp_path, tmp_path / "mirror")


def test_a_missing_mirror_file_names_the_path(tmp_path: Path, clusters_dir: Path) -> None:
    with pytest.raises(ManifestError, match=r"v3\.28\.2/calico\.yaml"):
        calico.fetch_manifest(_release(clusters_dir), tmp_path, tmp_path)


def test_the_pool_cidr_follows_the_pod_subnet_and_the_registry_can_be_swapped(
        shared_fixtures: Path) -> None:
    docs = calico.load_documents((shared_fixtures / "calico/v3.28.2/calico.yaml").read_bytes())
    patched = calico.patch_documents(docs, pod_cidr="10.244.0.0/16", registry="quay.io/calico")
    ds = next(d for d in patched if d.get("kind") == "DaemonSet")
    node = next(c for c in ds["spec"]["template"]["spec"]["containers"]
                if c["name"] == "calico-node")
    env = {e["name"]: e.get("value") for e in node["env"]}
    assert env["CALICO_IPV4POOL_CIDR"] == "10.244.0.0/16"
    assert all(i.startswith("quay.io/calico/") for i in calico.images(patched))
    assert all(i.startswith("docker.io/calico/") for i in calico.images(docs))
    crds, rest = calico.split_crds(patched)
    assert len(crds) + len(rest) == len(docs) and crds
