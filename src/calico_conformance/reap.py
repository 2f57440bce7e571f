"""Remove what dead runs left behind, and never anything they did not start.

Only runs whose record (:mod:`.runrecord`) says their owner is dead and that never
closed are touched, and only the things the record names: a probe's tree is torn down
by the probe's own tear-down (processes are matched by the tree's unique socket
address, cgroups by the probe's token, mounts by the tree's path); a daemon only if its
PID still has the recorded start time; a kind cluster only by its recorded name, and
only while ``kind get clusters`` lists it; a node container only by its recorded name,
and only while it carries the run's own label.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import runrecord, tools
from .clock import Clock, SystemClock
from .kind.cluster import NAME_PREFIX as CLUSTER_PREFIX


def _probe(entry: dict[str, object], clock: Clock) -> list[str]:
    from .probe.daemon import ProbeDirs, teardown  # the probe package only when needed

    base, sock, token = entry.get("base"), entry.get("sock_dir"), entry.get("token")
    if not (isinstance(base, str) and isinstance(sock, str) and isinstance(token, str)):
        return []
    # Only a tree the probe itself names (daemon.ProbeDirs.create): an edited record
    # must not turn the reaper into `rm -rf` of something else.
    if not (re.fullmatch(r"[0-9a-f]{10}", token)
            and Path(base).name.startswith(f"ccprobe-{token}-")
            and (sock == base or Path(sock).name.startswith(f"ccp-{token}-"))
            and _marked(Path(base), token)):
        return [f"probe entry {base[:200]!r} ignored: not a probe tree"]
    dirs = ProbeDirs(base=Path(base), sock_dir=Path(sock), token=token)
    problems = teardown(dirs, None, clock)
    return [f"probe {token}: {p}" for p in problems] or [f"probe {token}: removed"]


def _marked(base: Path, token: str) -> bool:
    """The probe wrote its token into the tree (daemon.MARKER); a link is not followed."""
    from .probe.daemon import MARKER  # the probe package only when needed

    marker = base / MARKER
    try:
        return (not base.is_symlink() and not marker.is_symlink()
                and marker.read_text(encoding="utf-8").strip() == token)
    except (OSError, UnicodeDecodeError):
        return False


def _daemon(entry: dict[str, object]) -> list[str]:
    """Only a containerd started on a probe tree's config: the PID and start time alone
    can be copied from /proc into a record by anyone."""
    pid, ticks = entry.get("pid"), entry.get("ticks")
    if not (isinstance(pid, int) and isinstance(ticks, int) and runrecord.alive(pid, ticks)):
        return []
    if not runrecord.ours(pid, ticks, "containerd", "ccprobe-"):
        return [f"daemon {pid}: left alone: not a probe's containerd"]
    tools.kill_pid(pid)
    return [f"daemon {pid}: killed"]


def cluster(entry: dict[str, object], kind_bin: str = "kind") -> list[str]:
    """Delete a recorded cluster with the configured kind, never a binary the record
    names (an edited record must not choose what runs), and never a directory it names:
    kind writes the kubeconfig the record names only when the file is ours."""
    name = entry.get("name")
    kubeconfig = entry.get("kubeconfig")
    kind = tools.which("kind", kind_bin)
    if not (isinstance(name, str) and name.startswith(CLUSTER_PREFIX) and kind):
        return []
    kind_bin = kind
    if name not in tools.kind_get_clusters(kind_bin):
        return []
    own = isinstance(kubeconfig, str) and Path(kubeconfig).name == "kubeconfig"
    res = tools.kind_delete_cluster(kind_bin, name, Path(str(kubeconfig) if own else
                                                         "/dev/null"))
    return [f"cluster {name}: " + ("deleted" if res.ok else tools.last_line(res.stderr))]


def node(entry: dict[str, object], clock: Clock) -> list[str]:
    """Remove a recorded node through the backend that started it (the node package, and
    a backend's own dependencies, only when needed)."""
    from .errors import InputError
    from .node import backend

    try:
        done = backend(str(entry.get("backend") or "docker")).reap(entry, clock)
    except InputError:  # a backend this version does not know: not ours
        done = None
    if done is None:
        return [f"node entry {entry.get('name')!r} ignored: not a node of ours"]
    return [f"node {entry.get('name')}: {line}" for line in done]


def reap_run(run_dir: Path, clock: Clock | None = None) -> list[str]:
    """Tear down everything a dead run recorded; then close its record."""
    clock = clock or SystemClock()
    record = run_dir / runrecord.RECORD_FILE
    done: list[str] = []
    for entry in runrecord.read(record):
        kind = entry["kind"]
        if kind == "probe":
            done += _probe(entry, clock)
        elif kind == "daemon":
            done += _daemon(entry)
        elif kind == "cluster":
            done += cluster(entry)
        elif kind == "node":
            done += node(entry, clock)
    runrecord.append(record, "closed", by="reaper")
    return [f"{run_dir.name}: {d}" for d in done]


def dead_runs(reports_dir: Path) -> list[Path]:
    if not reports_dir.is_dir():
        return []
    return [d for d in sorted(reports_dir.iterdir())
            if not d.is_symlink() and (d / runrecord.RECORD_FILE).is_file()
            and runrecord.state(runrecord.read(d / runrecord.RECORD_FILE)) == "dead"]


def reap(reports_dir: Path, clock: Clock | None = None) -> list[str]:
    """Reap every dead run under ``reports_dir``; returns one line per thing removed."""
    out: list[str] = []
    for run_dir in dead_runs(reports_dir):
        out += reap_run(run_dir, clock)
    return out
