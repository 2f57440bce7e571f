"""What a run started, written in its run folder as it starts it (``started.jsonl``).

A ``kill -9`` (or an OOM kill, or a lost CI runner) skips every tear-down; the next
run, or ``calico-conformance clean``, reads these records and removes what is left
(:mod:`.reap`). The first line names the owning process by PID *and* start time, so a
recycled PID never makes a dead run look alive; later lines name each thing started:
a probe's throw-away tree and token, a daemon's PID, a kind cluster, a container label.
The last line is ``closed`` once the run tore everything down itself.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

RECORD_FILE = "started.jsonl"


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks (/proc/PID/stat field 22); None if it is
    gone, or dead and only waiting to be reaped (a zombie, state Z, runs nothing)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return None if fields[0] == "Z" else int(fields[19])


def alive(pid: int, ticks: int | None) -> bool:
    """The very process that was recorded is still running (not a recycled PID)."""
    return ticks is not None and start_ticks(pid) == ticks


def ours(pid: int, ticks: int | None, program: str, mark: str) -> bool:
    """Alive as recorded, *and* running ``program`` with ``mark`` (the run's own tree or
    name) in its arguments: a record naming another process's PID and start time, which
    anyone can read from /proc, does not make the reaper kill it."""
    if not alive(pid, ticks):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return bool(argv) and Path(os.fsdecode(argv[0])).name.startswith(program) and any(
        mark.encode() in a for a in argv[1:])


def append(record: Path | None, kind: str, **fields: Any) -> None:
    """One line per thing started; flushed and fsynced so a kill right after keeps it."""
    if record is None:
        return
    line = json.dumps({"kind": kind, **fields}) + "\n"
    fd = os.open(record, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def open_record(run_dir: Path) -> Path:
    """Start a run's record with its owner (this process)."""
    path = run_dir / RECORD_FILE
    append(path, "owner", pid=os.getpid(), ticks=start_ticks(os.getpid()))
    return path


def read(path: Path) -> list[dict[str, Any]]:
    out = []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut by the kill itself
        if isinstance(entry, dict) and isinstance(entry.get("kind"), str):
            out.append(entry)
    return out


def state(entries: list[dict[str, Any]]) -> str:
    """``closed``, ``running`` (owner alive) or ``dead`` (owner gone, not closed)."""
    if any(e["kind"] == "closed" for e in entries):
        return "closed"
    owner = next((e for e in entries if e["kind"] == "owner"), None)
    if owner is None:
        return "dead"
    pid, ticks = owner.get("pid"), owner.get("ticks")
    if isinstance(pid, int) and isinstance(ticks, int) and alive(pid, ticks):
        return "running"
    return "dead"
