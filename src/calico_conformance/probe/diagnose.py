"""Turn what containerd said into a verdict, an outcome, and the one line worth quoting.

Pure functions, so the rules are unit-tested without a daemon.
"""

from __future__ import annotations

import re

from ..cells import Target
from ..lint import lint_target
from ..model import Verdict
from .host import HostFacts

FAILURES = frozenset(Verdict) - {Verdict.STABLE, Verdict.UNKNOWN}

# runc's systemd cgroup manager needs systemd's D-Bus (runc libcontainer/cgroups/systemd).
# Deliberately not "systemd" alone: runc's 'expected cgroupsPath to be of format
# "slice:prefix:name" for systemd cgroups' is a config mismatch, not a host fact.
_SYSTEMD_HOST = re.compile(r"dbus|/run/systemd|systemd.*(not running|not booted)|"
                           r"org\.freedesktop\.systemd1", re.IGNORECASE)
_LOG_FIELDS = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def host_explanation(verdict: Verdict, error: str, facts: HostFacts,
                     systemd_requested: bool) -> str:
    """Why a failure is the host's doing rather than the config's, or ""."""
    if verdict not in (Verdict.SANDBOX_FAILS, Verdict.CONTAINER_FAILS, Verdict.CONTAINER_EXITS):
        return ""
    if systemd_requested and not facts.systemd_pid1 and _SYSTEMD_HOST.search(error):
        return (f"host: the runtime asks runc for systemd cgroups (SystemdCgroup = true) but "
                f"PID 1 here is {facts.init_comm!r}, not systemd; on a systemd node this config "
                "may well work")
    return ""


def log_fields(line: str) -> dict[str, str]:
    """logrus text format (``time=... level=error msg="..." error="..."``) as a dict."""
    out: dict[str, str] = {}
    for key, raw in _LOG_FIELDS.findall(line):
        if raw.startswith('"'):
            raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        out[key] = raw
    return out


def describe_log_line(line: str) -> str:
    """``msg: error`` from a logrus line, or the line itself if it is not one."""
    f = log_fields(line)
    if "msg" not in f:
        return line.strip()
    return f"{f['msg']}: {f['error']}" if f.get("error") else f["msg"]


def cri_load_error(log: str) -> str:
    """The line saying why the CRI plugin did not load (containerd logs it, then goes on)."""
    for line in log.splitlines():
        if "io.containerd.grpc.v1.cri" in line and "failed to load plugin" in line:
            return describe_log_line(line)
    for line in log.splitlines():
        f = log_fields(line)
        if f.get("level") in ("error", "fatal") and "cri" in line.lower() and "cni" not in line:
            return describe_log_line(line)
    return ""


def exit_error(log: str) -> str:
    """Why containerd exited: its fatal line, else its last ``containerd:`` line, else the tail."""
    lines = [ln for ln in log.splitlines() if ln.strip()]
    for line in reversed(lines):
        if log_fields(line).get("level") == "fatal":
            return describe_log_line(line)
    for line in reversed(lines):
        if line.startswith("containerd:"):
            return line.strip()
    return lines[-1].strip() if lines else "containerd exited without a word"


def untestable_here(target: Target, facts: HostFacts) -> str:
    """A variant about the kubelet's systemd driver against runc's cgroupfs (lint CC001)
    needs systemd as PID 1: here the probe runs CRI and runc, not that pairing."""
    if facts.systemd_pid1 or not any(f.code == "CC001" for f in lint_target(target)):
        return ""
    return (f"the kubelet's systemd cgroup driver against runc's cgroupfs needs systemd as "
            f"PID 1; here PID 1 is {facts.init_comm!r}, so the probe ran CRI and runc but "
            f"not that pairing (the node tier can)")
