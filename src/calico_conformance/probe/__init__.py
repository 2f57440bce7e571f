"""The containerd probe tier: a variant under a real containerd, no Docker, in seconds."""

from ..settings import ProbeSettings
from .host import HostFacts, host_facts
from .runner import probe_available, probe_cell

__all__ = ["HostFacts", "ProbeSettings", "host_facts", "probe_available", "probe_cell"]
