"""One kind cluster of one cell: its name, and creating and deleting it through kind.

Why not pytest-kind's ``KindCluster``: it downloads its own pinned kind (v0.17) and
kubectl, lets kind's stderr go to the terminal, and silently reuses a cluster of the
same name. A cell needs the opposite of all three (the kind release that built its node
image, kind's words as evidence, never someone else's cluster), so this composes the
kind CLI (through :mod:`calico_conformance.tools`) instead of overriding every method.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .. import tools
from ..cells import Cell
from ..errors import ClusterExists, ToolError, ToolMissing

NAME_PREFIX = "calico-conf"


def cluster_name(run_id: str, cell: Cell, repeat: int = 1) -> str:
    """Unique per run, cell and repeat; recognisable; valid for kind (``^[a-z0-9.-]+$``)
    and short enough that ``<name>-control-plane`` is a hostname (<= 49)."""
    digest = hashlib.sha256(f"{run_id}/{cell.id}/{repeat}".encode()).hexdigest()[:6]
    run = re.sub(r"[^a-z0-9]+", "-", run_id.lower()).strip("-")[-6:].strip("-") or "run"
    slug = re.sub(r"[^a-z0-9]+", "-", cell.variant.name.lower()).strip("-")[:20].strip("-")
    return f"{NAME_PREFIX}-{run}-{slug}-{digest}"


class Cluster:
    """A cell's cluster. ``attempted`` says we ran ``kind create`` for it, so it is ours
    to inspect, keep or delete; a cluster we did not create is never touched."""

    def __init__(self, name: str, kubeconfig: Path, kind_bin: str) -> None:
        self.name = name
        self.kubeconfig = kubeconfig
        self.kind_bin = kind_bin
        self.create_stderr = ""
        self.attempted = False

    def create(self, config_file: Path | None = None) -> None:
        if not Path(self.kind_bin).is_file():
            raise ToolMissing(f"kind binary {self.kind_bin} is missing")
        if self.name in tools.kind_get_clusters(self.kind_bin):
            raise ClusterExists(f"a kind cluster named {self.name!r} already exists; "
                                f"refusing to reuse it (delete it with: kind delete cluster "
                                f"--name {self.name})")
        self.attempted = True
        res = tools.kind_create_cluster(self.kind_bin, self.name, self.kubeconfig, config_file)
        self.create_stderr = res.stderr
        if self.kubeconfig.exists():  # cluster-admin credentials: the owner's only
            self.kubeconfig.chmod(0o600)
        if not res.ok:
            raise ToolError(f"kind create cluster {self.name} failed: "
                            f"{tools.last_line(res.stderr)}", argv=list(res.argv),
                            returncode=res.returncode, stderr=res.stderr)

    def exists(self) -> bool:
        return self.attempted and self.name in tools.kind_get_clusters(self.kind_bin)

    def nodes(self) -> list[str]:
        return tools.kind_get_nodes(self.kind_bin, self.name)

    def delete(self) -> None:
        """A no-op for kind when the cluster is already gone. The kubeconfig (a client key
        with cluster-admin rights) goes with the cluster: an artifact upload of the run
        folder would not keep its 0600 mode."""
        res = tools.kind_delete_cluster(self.kind_bin, self.name, self.kubeconfig)
        if not res.ok:
            raise ToolError(f"kind delete cluster {self.name}: {tools.last_line(res.stderr)}",
                            argv=list(res.argv), returncode=res.returncode, stderr=res.stderr)
        self.kubeconfig.unlink(missing_ok=True)

    def load_images(self, images: list[str]) -> None:
        """Host images into every node (``kind load docker-image``)."""
        res = tools.kind_load_images(self.kind_bin, self.name, images)
        if not res.ok:
            raise ToolError(f"kind load docker-image into {self.name}: "
                            f"{tools.last_line(res.stderr)}", argv=list(res.argv),
                            returncode=res.returncode, stderr=res.stderr)

    def export_logs(self, dest: Path) -> str:
        """kind's node logs into ``dest``; "" or what went wrong."""
        try:
            res = tools.kind_export_logs(self.kind_bin, self.name, dest)
        except ToolError as exc:
            return f"kind export logs: {exc}"
        return "" if res.ok else f"kind export logs: {tools.last_line(res.stderr)}"
