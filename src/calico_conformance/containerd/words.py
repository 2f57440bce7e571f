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
    """Why containerd exited: its fatal line, else its last ``containerd:`` line, else the tail."""
    lines = [ln for ln in log.splitlines() if ln.strip()]
    for line in reversed(lines):
        if log_fields(line).get("level") == "fatal":
            return describe_log_line(line)
    for line in reversed(lines):
        if line.startswith("containerd:"):
            return line.strip()
    return lines[-1].strip() if lines else "containerd exited without a word"
