"""What the probe's host, not the config, explains: a failure of systemd cgroups on a host
without systemd, and a pairing the host cannot exercise at all.

Pure functions, so the rules are unit-tested without a daemon; containerd's own words
are read by :mod:`..containerd.words`.
"""

from __future__ import annotations

import re

from ..cells import Target
from ..lint import lint_target
from .host import HostFacts

# runc's systemd cgroup manager needs systemd's D-Bus (runc libcontainer/cgroups/systemd).
# Deliberately not "systemd" alone: runc's 'expected cgroupsPath to be of format
# "slice:prefix:name" for systemd cgroups' is a config mismatch, not a host fact.
_SYSTEMD_HOST = re.compile(r"dbus|/run/systemd|systemd.*(not running|not booted)|"
                           r"org\.freedesktop\.systemd1", re.IGNORECASE)


def host_explanation(step: str, error: str, facts: HostFacts, systemd_requested: bool) -> str:
    """Why a failed step is the host's doing rather than the config's, or "" (only the
    steps runc takes part in: the sandbox, the container, its exit)."""
    if step not in ("sandbox", "container", "exit"):
        return ""
    if systemd_requested and not facts.systemd_pid1 and _SYSTEMD_HOST.search(error):
        return (f"host: the runtime asks runc for systemd cgroups (SystemdCgroup = true) but "
                f"PID 1 here is {facts.init_comm!r}, not systemd; on a systemd node this config "
                "may well work")
    return ""


def untestable_here(target: Target, facts: HostFacts) -> str:
    """A variant about the kubelet's systemd driver against runc's cgroupfs (lint CC001)
    needs systemd as PID 1: here the probe runs CRI and runc, not that pairing."""
    if facts.systemd_pid1 or not any(f.code == "CC001" for f in lint_target(target)):
        return ""
    return (f"the kubelet's systemd cgroup driver against runc's cgroupfs needs systemd as "
            f"PID 1; here PID 1 is {facts.init_comm!r}, so the probe ran CRI and runc but "
            f"not that pairing (the node tier can)")
