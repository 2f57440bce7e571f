"""``calico-conformance clean`` and ``calico-conformance clusters list|prune``.

Both read the run records (:mod:`.runrecord`) under a reports folder: ``clean`` reaps
every run whose owner died without closing (probe trees, daemons, clusters, containers);
``clusters`` lists the kind clusters and node containers the records name, with their run
and its state, and ``prune`` removes those whose run is gone. Nothing without a record is
ever touched.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from . import runrecord, tools
from .clock import SystemClock
from .errors import ConformanceError, InputError
from .kind.cluster import NAME_PREFIX
from .reap import cluster, dead_runs, node, reap
from .reporting.facts import visible


def _reports(args: argparse.Namespace) -> Path:
    path = Path(args.reports_dir)
    if not path.is_dir():
        raise InputError("not a reports directory", path=path)
    return path


def cmd_clean(args: argparse.Namespace) -> int:
    done = reap(_reports(args))
    for line in done:
        print(visible(line))  # a record is anyone's file: its names drive no terminal
    print(f"clean: {len(done)} thing(s) removed" if done else "clean: nothing left behind")
    return 0


def _recorded(reports: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(run, its state, entry) for every cluster and node container the runs recorded."""
    out = []
    for run_dir in sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()):
        entries = runrecord.read(run_dir / runrecord.RECORD_FILE)
        state = runrecord.state(entries) if entries else ""
        out += [(run_dir.name, state, e) for e in entries if e["kind"] in ("cluster", "node")]
    return out


def _live_clusters(kind_bin: str) -> set[str]:
    """Listed with the configured kind, never a binary a record names."""
    found = tools.which("kind", kind_bin)
    return set(tools.kind_get_clusters(found)) if found else set()


def _live_nodes() -> dict[str, str]:
    """Node name → its run, from every node backend that answers here (the configured
    binaries, never one named in a record)."""
    from .node.backend import BACKENDS, backend  # the node package only when needed

    out: dict[str, str] = {}
    for name in BACKENDS:
        with contextlib.suppress(ConformanceError):  # no docker here, or no daemon
            out.update(backend(name).live())
    return out


def cmd_clusters(args: argparse.Namespace) -> int:
    reports = _reports(args)
    rows = _recorded(reports)
    if args.action == "prune":
        dead = {d.name for d in dead_runs(reports)}
        pruned = [line for run, _s, e in rows if run in dead
                  for line in (cluster(e, args.kind_bin) if e["kind"] == "cluster"
                               else node(e, SystemClock()))]
        for line in pruned:
            print(visible(line))
        print(f"prune: {len(pruned)} cluster(s) and node container(s) of dead runs")
        return 0
    clusters, nodes = _live_clusters(args.kind_bin), _live_nodes()
    for run, state, e in rows:
        exists = e.get("name") in (clusters if e["kind"] == "cluster" else nodes)
        what = "cluster" if e["kind"] == "cluster" else "node container"
        print(visible(f"{e.get('name')}  {what}  run {run} ({state or 'no record'})  "
                      f"{'exists' if exists else 'gone'}"))
    recorded = {e.get("name") for _r, _s, e in rows}
    unknown = [(n, "cluster") for n in sorted(clusters) if n.startswith(NAME_PREFIX + "-")]
    unknown += [(n, f"node container of run {nodes[n] or '?'}") for n in sorted(nodes)]
    for name, what in unknown:
        if name not in recorded:  # ours by name or label, but no run here records it
            print(visible(f"{name}  {what}  run unknown (not recorded under {reports})  "
                          "exists; never pruned"))
    if not rows:
        print("clusters: none recorded")
    return 0


def register(subparsers: Any) -> None:
    c = subparsers.add_parser("clean", help="remove what killed runs left behind (containerd "
                              "daemons, shims, mounts, cgroups, temp dirs, clusters)")
    c.add_argument("--reports-dir", default="reports", help="where runs are (default: reports)")
    c.set_defaults(func=cmd_clean)
    k = subparsers.add_parser("clusters", help="list the suite's kind clusters and node "
                              "containers with their runs, or prune those whose run is gone")
    k.add_argument("action", choices=("list", "prune"))
    k.add_argument("--reports-dir", default="reports", help="where runs are (default: reports)")
    k.add_argument("--kind-bin", default="kind", help="kind binary to list clusters with "
                   "(default: kind)")
    k.set_defaults(func=cmd_clusters)
