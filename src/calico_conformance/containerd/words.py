"""containerd's own words: the line of its log (or journal) worth quoting in a verdict.

containerd logs in logrus' text format (``time=... level=error msg="..." error="..."``);
a verdict that blames a config quotes containerd, never our paraphrase. Pure functions,
shared by every tier that reads a containerd log.
"""

from __future__ import annotations

import re

_LOG_FIELDS = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def log_fields(line: str) -> dict[str, str]:
    """logrus text format as a dict."""
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
    """Why containerd exited, in its own error-level words: its fatal line, else its last
    error line, else its last ``containerd:`` line (what it prints on stderr before
    exiting). Never an info line: without an error, it says so."""
    lines = [ln for ln in log.splitlines() if ln.strip()]
    for level in ("fatal", "error"):
        for line in reversed(lines):
            if log_fields(line).get("level") == level:
                return describe_log_line(line)
    for line in reversed(lines):
        if line.startswith("containerd:"):
            return line.strip()
    return "containerd exited without an error line"


def booted(log: str) -> bool:
    """containerd finished starting (it logs this once every plugin has loaded)."""
    return "containerd successfully booted" in log


def serving_addresses(log: str) -> tuple[str, ...]:
    """Where containerd serves gRPC (its ``serving...`` lines; ttrpc and metrics aside)."""
    out = []
    for line in log.splitlines():
        f = log_fields(line)
        addr = f.get("address", "")
        if f.get("msg") == "serving..." and addr and not addr.endswith(".ttrpc"):
            out.append(addr)
    return tuple(dict.fromkeys(out))


# A pull that needed a registry: on this machine (offline) it says nothing of the config.
_PULL = ("failed to pull", "failed to resolve reference", "failed to get sandbox image",
         "pulling image", "failed to do request")
_NETWORK = ("network is unreachable", "dial tcp", "no such host", "i/o timeout",
            "connection refused", "lookup ", "tls: ", "temporary failure in name resolution")


def pull_trouble(error: str) -> str:
    """Why a failed pull is this machine's doing, or "" when the error is not a pull that
    needed the network (an invalid reference, say, is containerd's judgement)."""
    low = error.lower()
    if any(p in low for p in _PULL) and any(n in low for n in _NETWORK):
        return ("containerd had to pull an image this node does not have, and no registry "
                "is reachable from here; says nothing about the config")
    return ""


# runc's words when a sandbox asks for an oom_score_adj the node may not set (no
# CAP_SYS_RESOURCE): the node tier adapts the config, and says so, if that did not reach
# the table containerd reads.
OOM_SCORE_FAILURE = "can't get final child's PID from pipe: EOF"


def host_capability_trouble(error: str, can_lower_oom_score: bool) -> str:
    """Why a runc failure is this machine's doing, or ""."""
    if OOM_SCORE_FAILURE in error and not can_lower_oom_score:
        return ("runc could not set the sandbox's oom_score_adj: this node lacks "
                "CAP_SYS_RESOURCE (a real node has it); says nothing about the config")
    return ""
