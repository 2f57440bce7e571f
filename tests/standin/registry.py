"""State shared by the API server and the fake CLIs: the clusters that "exist"."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .cluster import Cluster, NodeInfo


@dataclass
class NodeRuntime:
    """What ``docker exec`` on a node container reads."""

    containerd_config: str
    containerd_version: str
    kubelet_config: str
    kube_version: str


@dataclass
class State:
    scenarios: dict[str, str]
    default: str
    time_scale: float
    docker_works: bool
    kind_version: str
    repo_root: Path
    docker_version: str = "27.3.1"
    port: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.RLock = field(default_factory=threading.RLock)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    runtimes: dict[str, NodeRuntime] = field(default_factory=dict)  # by node container name
    requests: Counter[str] = field(default_factory=Counter)
    bytes_out: Counter[str] = field(default_factory=Counter)  # cluster -> API bytes sent
    host_images: dict[str, str] = field(default_factory=dict)  # pulled image -> digest
    loaded_images: dict[str, list[str]] = field(default_factory=dict)  # cluster -> images
    cluster_requests: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def node(self, container: str) -> tuple[Cluster, NodeInfo] | None:
        with self.lock:
            for c in self.clusters.values():
                for n in c.nodes:
                    if n.name == container:
                        return c, n
        return None

    def count(self, cluster: str, key: str) -> None:
        with self.lock:
            self.requests[key] += 1
            self.cluster_requests.setdefault(cluster, Counter())[key] += 1
