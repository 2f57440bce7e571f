"""The containerd probe tier: a variant under a real containerd, no Docker, in seconds."""

from ..settings import ProbeSettings
from .cell import probe_available, run_cell
from .host import HostFacts, host_facts

__all__ = ["HostFacts", "ProbeSettings", "host_facts", "probe_available", "run_cell"]
