"""The node tier: each variant inside a kind-style node (systemd as PID 1) built locally.

One entry point, like the probe's: :func:`run_node_cell` (variant, kind release, node
image, settings) -> CellResult, and :func:`node_available` (why it cannot run here).
"""

from .cell import NodeImage, NodeSettings, node_available, run_node_cell

__all__ = ["NodeImage", "NodeSettings", "node_available", "run_node_cell"]
