"""``calico-conformance clean`` and ``calico-conformance clusters list|prune``.

Both read the run records (:mod:`.runrecord`) under a reports folder: ``clean`` reaps
every run whose owner died without closing (probe trees, daemons, clusters, containers);
``clusters`` lists the kind clusters the records name, with their run and its state, and
``prune`` deletes those whose run is gone. Nothing without a record is ever touched.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import runrecord, tools
from .errors import InputError
from .kind.cluster import NAME_PREFIX
from .reap import cluster, dead_runs, reap


def _reports(args: argparse.Namespace) -> Path:
    path = Path(args.reports_dir)
    if not path.is_dir():
        raise InputError("not a reports directory", path=path)
    return path


def cmd_clean(args: argparse.Namespace) -> int:
    done = reap(_reports(args))
    for line in done:
        print(line)
    print(f"clean: {len(done)} thing(s) removed" if done else "clean: nothing left behind")
    return 0


def _clusters(reports: Path) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for run_dir in sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()):
        entries = runrecord.read(run_dir / runrecord.RECORD_FILE)
        state = runrecord.state(entries) if entries else ""
        out += [(run_dir.name, state, e) for e in entries if e["kind"] == "cluster"]
    return out


def cmd_clusters(args: argparse.Namespace) -> int:
    reports = _reports(args)
    rows = _clusters(reports)
    if args.action == "prune":
        dead = {d.name for d in dead_runs(reports)}
        pruned = [line for run, _s, e in rows if run in dead for line in cluster(e)]
        for line in pruned:
            print(line)
        print(f"prune: {len(pruned)} cluster(s) of finished or dead runs")
        return 0
    live: dict[str, list[str]] = {}
    for _run, _state, e in rows:
        kind_bin = str(e.get("kind_bin") or "kind")
        if kind_bin not in live:
            live[kind_bin] = tools.kind_get_clusters(kind_bin) if tools.which(kind_bin) else []
    if args.kind_bin not in live:
        live[args.kind_bin] = tools.kind_get_clusters(args.kind_bin) \
            if tools.which(args.kind_bin) else []
    for run, state, e in rows:
        exists = "exists" if e.get("name") in live[str(e.get("kind_bin") or "kind")] else "gone"
        print(f"{e.get('name')}  run {run} ({state or 'no record'})  {exists}")
    recorded = {e.get("name") for _r, _s, e in rows}
    for name in sorted({n for names in live.values() for n in names} - recorded):
        if name.startswith(NAME_PREFIX + "-"):  # ours by name, but no run here records it
            print(f"{name}  run unknown (not recorded under {reports})  exists; never pruned")
    if not rows:
        print("clusters: none recorded")
    return 0


def register(subparsers: Any) -> None:
    c = subparsers.add_parser("clean", help="remove what killed runs left behind (containerd "
                              "daemons, shims, mounts, cgroups, temp dirs, clusters)")
    c.add_argument("--reports-dir", default="reports", help="where runs are (default: reports)")
    c.set_defaults(func=cmd_clean)
    k = subparsers.add_parser("clusters", help="list the suite's kind clusters with their "
                              "runs, or prune those whose run is gone")
    k.add_argument("action", choices=("list", "prune"))
    k.add_argument("--reports-dir", default="reports", help="where runs are (default: reports)")
    k.add_argument("--kind-bin", default="kind", help="kind binary to list clusters with "
                   "(default: kind)")
    k.set_defaults(func=cmd_clusters)
