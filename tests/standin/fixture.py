"""The StandIn context manager and the ``standin`` pytest fixture.

The contract with production code is only the kind/docker CLI surface (fake
executables first on PATH) and the Kubernetes API wire format (the kubeconfig
the fake kind writes points at this server).
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from .cluster import Cluster
from .registry import State
from .scenarios import SCENARIOS
from .server import Server

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(__file__).resolve().parent / "bin"


class StandIn:
    """A fake kind/docker plus a kube-apiserver subset, all on 127.0.0.1."""

    def __init__(self, workdir: Path, scenarios: dict[str, str] | None = None,
                 default: str = "stable", time_scale: float = 0.01, docker_works: bool = True,
                 kind_version: str = "v0.24.0", repo_root: Path = REPO_ROOT) -> None:
        scenarios = dict(scenarios or {})
        for name in [*scenarios.values(), default]:
            if name not in SCENARIOS:
                raise ValueError(f"unknown stand-in scenario {name!r} "
                                 f"(known: {', '.join(SCENARIOS)})")
        self.workdir = Path(workdir)
        self.bin_dir = self.workdir / "standin-bin"
        self.state = State(scenarios, default, time_scale, docker_works, kind_version, repo_root)
        self._server: Server | None = None

    def __enter__(self) -> StandIn:
        self.bin_dir.mkdir(parents=True, exist_ok=True)
        for tool in ("kind", "docker"):
            shutil.copy2(BIN / tool, self.bin_dir / tool)
            (self.bin_dir / tool).chmod(0o755)
        self._server = Server(self.state)
        self._server.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def url(self) -> str:
        return self.state.url

    @property
    def env(self) -> dict[str, str]:
        """Merge into the environment: fake kind/docker first on PATH, and where to reach us."""
        return {"PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                "STANDIN_URL": self.url,
                "KUBECONFIG": str(self.workdir / "kubeconfig")}

    def apply_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for key, value in self.env.items():
            monkeypatch.setenv(key, value)

    def requests(self, cluster: str | None = None) -> Counter[str]:
        """API requests so far by "verb resource" (e.g. "watch pods", "patch daemonsets")."""
        with self.state.lock:
            src = self.state.requests if cluster is None else self.state.cluster_requests.get(
                cluster, Counter())
            return Counter(src)

    def clusters(self) -> dict[str, Cluster]:
        with self.state.lock:
            return dict(self.state.clusters)

    def cluster(self, name: str) -> Cluster:
        return self.clusters()[name]


StandInFactory = Callable[..., StandIn]


@pytest.fixture
def standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandInFactory]:
    """Factory: ``standin(scenarios={...}, default=..., time_scale=...)`` → a started StandIn,
    stopped at test end. Merge ``.env`` into a subprocess env, or ``.apply_env(monkeypatch)``."""
    made: list[StandIn] = []

    def make(**kwargs: Any) -> StandIn:
        workdir = kwargs.pop("workdir", None) or tmp_path_factory.mktemp("standin")
        s = StandIn(workdir, **kwargs).__enter__()
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()
