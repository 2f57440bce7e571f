"""A cell's kubeconfig holds cluster-admin credentials: 0600 whatever kind's umask was."""

from __future__ import annotations

from pathlib import Path

from calico_conformance.kind.cluster import Cluster

FAKE_KIND = """#!/bin/sh
# get clusters: none; create cluster: write the kubeconfig world-readable, as umask 022 would
case "$1 $2" in
  "get clusters") exit 0 ;;
  "create cluster") for a in "$@"; do case "$a" in --kubeconfig=*) k="${a#--kubeconfig=}";;
    esac; done; umask 022; echo "apiVersion: v1" > "$k"; exit 0 ;;
esac
exit 0
"""


def test_a_created_clusters_kubeconfig_is_0600(tmp_path: Path) -> None:
    kind = tmp_path / "kind"
    kind.write_text(FAKE_KIND)
    kind.chmod(0o755)
    cfg = tmp_path / "kind-config.yaml"
    cfg.write_text("kind: Cluster\n")
    cluster = Cluster("cc-test", tmp_path / "kubeconfig", str(kind))
    cluster.create(cfg)
    assert (tmp_path / "kubeconfig").stat().st_mode & 0o777 == 0o600
