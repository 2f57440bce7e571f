"""The containerd probe tier: a variant under a real containerd, no Docker, in seconds."""

from .host import HostFacts, host_facts
from .runner import ProbeSettings, probe_available, probe_variant

__all__ = ["HostFacts", "ProbeSettings", "host_facts", "probe_available", "probe_variant"]
