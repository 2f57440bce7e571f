"""The kind tier: one real cluster per cell, Calico installed, calico-node watched.

``cell.run_cell`` runs one cell (its life is :func:`..life.live`'s); ``cluster`` names
and drives the kind CLI, ``binary`` finds the right kind release, ``config`` renders the Cluster
config, ``nodes`` checks what the nodes really run, ``install`` puts Calico on and
collects evidence.
"""

from .binary import host_platform, preflight, resolve_kind
from .cell import run_cell
from .cluster import NAME_PREFIX, Cluster, cluster_name

__all__ = ["NAME_PREFIX", "Cluster", "cluster_name", "host_platform", "preflight", "resolve_kind",
           "run_cell"]
