"""A throw-away project for running the real suites/ against the stand-in cluster.

It copies ``suites/`` and ``clusters/``, adds test-only variants whose sidecars
declare the verdict each stand-in scenario should produce, and pins a small
self-made Calico manifest (sha256 and all), so the production path verifies it
exactly as it verifies a real one, without needing ../shared.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from load import scaled

REPO = Path(__file__).resolve().parents[2]
CALICO = "v3.28.2"

MINI_MANIFEST = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: felixconfigurations.crd.projectcalico.org
spec:
  group: crd.projectcalico.org
  names:
    kind: FelixConfiguration
    listKind: FelixConfigurationList
    plural: felixconfigurations
    singular: felixconfiguration
  scope: Cluster
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: calico-node, namespace: kube-system}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: calico-node
  namespace: kube-system
  labels: {k8s-app: calico-node}
spec:
  selector: {matchLabels: {k8s-app: calico-node}}
  template:
    metadata: {labels: {k8s-app: calico-node}}
    spec:
      serviceAccountName: calico-node
      initContainers:
      - {name: install-cni, image: docker.io/calico/cni:v3.28.2}
      containers:
      - name: calico-node
        image: docker.io/calico/node:v3.28.2
        env:
        - {name: DATASTORE_TYPE, value: kubernetes}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: calico-kube-controllers
  namespace: kube-system
  labels: {k8s-app: calico-kube-controllers}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: calico-kube-controllers}}
  template:
    metadata: {labels: {k8s-app: calico-kube-controllers}}
    spec:
      containers:
      - {name: calico-kube-controllers, image: docker.io/calico/kube-controllers:v3.28.2}
"""

# Test-only variants: name -> expected verdict (the scenario map decides what happens).
TEST_VARIANTS = {
    "sc-crashloop": "restarts",
    "sc-never-ready": "never-ready",
    "sc-flapping": "flapping",
    "sc-oom": "restarts",
    "sc-sandbox": "not-started",
    "sc-image-pull": "not-started",
    "sc-watch-drop": "stable",
    "sc-gone": "stable",
    "sc-drift": "stable",
}


def make_project(root: Path, variants: list[str], *, workers: int = 1,
                 manifest: str = MINI_MANIFEST) -> Path:
    """Lay out suites/, clusters/ (with a ``standin`` profile) and a manifest mirror."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "suites" / "test_kind_matrix.py", root / "test_kind_matrix.py")
    clusters = root / "clusters"
    shutil.copytree(REPO / "clusters", clusters, dirs_exist_ok=True)
    for name, expected in TEST_VARIANTS.items():
        (clusters / "containerd" / f"{name}.toml").write_text("# stand-in scenario variant\n")
        (clusters / "containerd" / f"{name}.meta.toml").write_text(
            f'description = "stand-in scenario {name}"\nexpected = "{expected}"\n')
    with (clusters / "matrix.toml").open("a") as fh:
        fh.write(f"\n[profiles.standin]\ncalico = [\"{CALICO}\"]\n"
                 f"variants = {json.dumps(variants)}\npoints = [\"k8s1.28\"]\n"
                 f"workers = {workers}\nsoak = \"{scaled(3)}\"\n")
    mirror = root / "mirror" / CALICO
    mirror.mkdir(parents=True)
    (mirror / "calico.yaml").write_text(manifest)
    pin = hashlib.sha256(manifest.encode()).hexdigest()
    versions = clusters / "calico" / "versions.toml"
    text = versions.read_text()
    block = text.index(f'version = "{CALICO}"')
    start = text.index("sha256 = ", block)
    end = text.index("\n", start)
    versions.write_text(text[:start] + f'sha256 = "{pin}"' + text[end:])
    return root


def cell_result(run_dir: Path, cell_id: str) -> dict:  # type: ignore[type-arg]
    return json.loads((run_dir / "cells" / f"{cell_id}.json").read_text())


def cell_id(variant: str) -> str:
    return f"{CALICO}-{variant}-k8s1.28"


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)
