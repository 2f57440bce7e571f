"""The node tier: each variant inside a kind-style node (systemd as PID 1) built locally.

One entry point, like every tier's: :func:`run_cell` (cell, backend, image, settings)
-> CellResult. Nodes come from a :class:`~.backend.Backend` (:func:`~.backend.backend`).
"""

from .backend import Backend, Node, backend
from .cell import PodTemplate, run_cell

__all__ = ["Backend", "Node", "PodTemplate", "backend", "run_cell"]
