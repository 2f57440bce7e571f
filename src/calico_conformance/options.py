"""The plugin's command-line options, one group, each help ending in its default.

Registered by :func:`~.plugin.pytest_addoption`; read once, by
:func:`~.plugin.build_session`, into the settings groups of :mod:`.settings`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .datafile import load_toml
from .errors import InputError
from .rootdir import MATRIX
from .settings import KEEP_CHOICES, TIERS


def _profiles_help(matrix: Path) -> str:
    """The profiles by name and description, when run from a project (``--help`` is read
    there); nothing when there is no matrix to read."""
    if not matrix.is_file():
        return ""
    try:
        profiles = load_toml(matrix).get("profiles") or {}
    except InputError:
        return ""
    if not isinstance(profiles, dict) or not profiles:
        return ""
    names = ", ".join(profiles)
    described = "; ".join(f"{name}: {str(p.get('description', '')).rstrip('.')}"
                          for name, p in profiles.items() if isinstance(p, dict))
    return f" ({names}) — {described}."


def add_options(parser: pytest.Parser) -> None:
    """Every option of the matrix, in one group."""
    g = parser.getgroup("calico-conformance", "calico-conformance matrix")
    g.addoption("--profile", default="default",
                help=f"matrix profile from clusters/matrix.toml (default: default)"
                     f"{_profiles_help(Path.cwd() / MATRIX)}")
    g.addoption("--matrix", default=None,
                help="matrix file (default: clusters/matrix.toml)")
    g.addoption("--clusters-dir", default=None,
                help="the matrix data directory (default: ./clusters)")
    g.addoption("--variant", action="append", default=[], metavar="[NAME=]PATH",
                help="test your containerd config.toml as the node's whole config (what "
                     "your node runs); only the given variants run; named NAME, else after "
                     "the file (config.toml: <folder>-config); a folder gives every *.toml in "
                     "it; repeatable (default: none)")
    g.addoption("--variant-as-patch", action="store_true",
                help="merge each --variant file over kind's base config as kind merges a "
                     "containerdConfigPatches entry (per file: patch = true in its sidecar) "
                     "(default: off: each file is the node's whole config)")
    g.addoption("--expect", choices=("stable", "ok"), default=None,
                help="gate on your --variant files: each cell of one must come out stable "
                     "(ok: the same), else the run fails (rc 1, a JUnit failure, a Markdown "
                     "alarm); a sidecar's own expectations still win (default: report only)")
    g.addoption("--with-profile-variants", action="store_true",
                help="run the profile's shipped variants beside your --variant files "
                     "(default: off)")
    g.addoption("--tier", choices=TIERS, default=None,
                help="kind clusters, the containerd probe, kind-style nodes with an emulated "
                     "kubelet, or all three (probe, node, kind) (default: kind; all with "
                     "--repro)")
    g.addoption("--node-images", default="*",
                help="node tier: recipes under clusters/nodes to run on, a glob or comma list; "
                     "build them with `calico-conformance nodes build` (default: all)")
    g.addoption("--node-backends", default=None, metavar="LIST",
                help="node tier: what runs the nodes, a comma list of docker (this host's "
                     "cgroup version) and vm (a cgroup v2 virtual machine; build its images "
                     "with `calico-conformance nodes build --backend vm`) (default: docker; "
                     "docker,vm with --repro)")
    g.addoption("--node-window", default="20s",
                help="node tier: how long each node cell is watched: kubelet syncs, exec "
                     "probes, daemon-reload, a containerd restart (default: 20s)")
    g.addoption("--repro", default=None, metavar="ID",
                help="run a reported bug's scenario (clusters/repros/ID.toml): its candidate "
                     "configs on its Calico versions, on every tier available, and say which "
                     "reproduce its symptom (default: none)")
    g.addoption("--plan", action="store_true",
                help="write kind configs, effective containerd configs and lint per cell; "
                     "no Docker needed (default: off)")
    g.addoption("--soak", default=None,
                help="soak window per kind cell, e.g. 10m (default: the profile's)")
    g.addoption("--full-soak", action="store_true",
                help="watch the whole soak even when a cell can no longer become stable "
                     "(default: off)")
    g.addoption("--ready-grace", default="5m",
                help="how long calico-node may take to become Ready, capped at half the "
                     "soak (default: 5m)")
    g.addoption("--keep-clusters", choices=KEEP_CHOICES, default="none",
                help="keep clusters for debugging (default: none)")
    g.addoption("--kind-bin", default=None, metavar="PATH",
                help="the kind binary for every release (default: kind on PATH when it is "
                     "the cell's release, else the pinned download)")
    g.addoption("--reports-dir", default=None,
                help="where runs go (default: ./reports)")
    g.addoption("--run-id", default=None,
                help="name of this run's report folder (default: the UTC start time)")
    g.addoption("--calico-manifest-dir", default=None,
                help="offline mirror of manifests laid out as <tag>/calico.yaml "
                     "(default: download, sha256-checked)")
    g.addoption("--calico-registry", default=None,
                help="replace docker.io/calico with this registry, e.g. quay.io/calico "
                     "(default: docker.io/calico)")
    g.addoption("--repeat", type=int, default=1,
                help="run each cell N times, for flake detection (default: 1)")
    g.addoption("--baseline", default=None,
                help="a previous matrix.json or run folder: fail on regressions "
                     "(default: none)")
    g.addoption("--preload-images", action="store_true",
                help="pull every node and Calico image once on the host and load them into "
                     "each cluster, so nodes never pull; a missing image stops the run "
                     "before any cluster (default: off)")
    g.addoption("--shard", default=None, metavar="K/N",
                help="run the K-th of N shards, balanced by each cell's expected duration; "
                     "merge the shards' run folders with calico-conformance merge "
                     "(default: all cells)")
    g.addoption("--max-clusters", type=int, default=None, metavar="N",
                help="clusters alive at once across xdist workers (-n); (default: from CPU "
                     "count and memory, assuming 1 CPU and 2 GiB per kind node)")
    g.addoption("--containerd-bin", default=None,
                help="containerd for the probe tier (default: containerd on PATH)")
    g.addoption("--probe-window", default="20s",
                help="how long the probe container must keep running (default: 20s)")
    g.addoption("--probe-allow-binary", action="append", default=[], metavar="PATH",
                help="let the host probe run this runtime or shim binary as root, "
                     "repeatable (default: only known runtimes and shims in system dirs)")
