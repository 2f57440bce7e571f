"""``calico-conformance check FILE...``: one answer per config, with every source beside it.

The question people come with is "is my /etc/containerd/config.toml bad?". Each file is
judged as the node's whole config (what the user's node runs), for each containerd
version asked for (else those the node images run, read from ``clusters/nodes``): lint
says what it predicts, and every run folder given (``--from-run``: a probe, node or kind
run of the same file) says what it observed. :mod:`.reconcile` decides; this module only
gathers and prints. Exit 1 when any answer is bad, so CI can gate on it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .errors import InputError
from .lint import lint_file
from .lint.cli import clusters_dir
from .lint.provenance import annotate
from .lint.provenance import load as load_observed
from .model import CellResult
from .reconcile import BAD, Answer, answer
from .reporting.facts import visible
from .reporting.store import read_cells, resolve_run_dir
from .variants import user_variant_name
from .versions import parse_version


def _versions(args: argparse.Namespace, clusters: Path | None,
              results: list[CellResult]) -> list[str]:
    if args.containerd_version:
        return list(dict.fromkeys(args.containerd_version))
    seen = sorted({r.axes.containerd for r in results if parse_version(r.axes.containerd)})
    if seen:
        return seen
    if clusters is not None:
        from .node.recipes import load_recipes

        found = [parse_version(r.installed().get("containerd", ""))
                 for r in load_recipes(clusters).values()]
        versions = sorted({".".join(map(str, v)) for v in found if v})
        if versions:
            return versions
    raise InputError("--containerd-version: needed (no run folder and no node recipes say "
                     "which containerd your node runs)")


def _results(runs: list[str], name: str) -> list[CellResult]:
    out = []
    for run in runs:
        run_dir = resolve_run_dir(Path(run))
        out += [r for _p, r in read_cells(run_dir) if r.axes.variant == name]
    return out


def answers(args: argparse.Namespace) -> list[Answer]:
    clusters = clusters_dir(args)
    observed = load_observed(clusters)
    out = []
    for spec in args.files:
        name, path = user_variant_name(spec)
        results = _results(args.from_run, name)
        for version in _versions(args, clusters, results):
            findings = annotate(lint_file(path, containerd_version=version,
                                          kubelet_cgroup_driver=args.kubelet_cgroup_driver),
                                observed)
            mine = [r for r in results if r.axes.containerd in ("", version)]
            out.append(answer(str(path), version, args.cgroup, findings, mine))
    return out


def render_text(found: list[Answer]) -> str:
    lines = []
    for a in found:
        lines.append(f"{a.config} on containerd {a.containerd} (cgroup {a.cgroup}): "
                     f"{a.says.upper()}")
        if a.fix:
            lines.append(f"  fix: {a.fix}")
        lines.append(f"  decided by: {a.decided_by}")
        for s in a.sources:
            if s.observed:
                lines.append(f"  {s.tier:<5} observed {s.says} on the {s.where}: {s.detail}")
            else:
                lines.append(f"  {s.tier:<5} predicts {s.says}: {s.detail}")
                if s.where != "rules":
                    lines.append(f"        basis: {s.where}")
        not_run = {"probe", "node", "kind"} - {s.tier for s in a.sources}
        if not_run:
            lines.append(f"  not run: {', '.join(sorted(not_run))} (pass --from-run with a "
                         "run of this file)")
    return "".join(visible(line) + "\n" for line in lines)


def cmd_check(args: argparse.Namespace) -> int:
    found = answers(args)
    if args.format == "json":
        print(json.dumps({"schema_version": 1, "answers": [asdict(a) for a in found]},
                         indent=1))
    else:
        print(render_text(found), end="")
    return 1 if any(a.says == BAD for a in found) else 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "check", help="one answer per containerd config: bad, risky, ok or not judged here, "
                      "with lint's and every run's evidence side by side")
    p.add_argument("files", nargs="+", metavar="[NAME=]FILE",
                   help="your config.toml files, each the node's whole config")
    p.add_argument("--containerd-version", action="append", default=[], metavar="X.Y.Z",
                   help="judge for this containerd (repeatable; default: those of the "
                        "runs given, else the node images')")
    p.add_argument("--from-run", action="append", default=[], metavar="DIR",
                   help="a run folder (reports/<run>) of these files: its observations "
                        "(repeatable)")
    p.add_argument("--cgroup", choices=("v1", "v2"), default="v2",
                   help="the cgroup version your nodes run (default: %(default)s, as almost "
                        "every current distribution)")
    p.add_argument("--kubelet-cgroup-driver", choices=("systemd", "cgroupfs"),
                   default="systemd", help="your kubelet's cgroupDriver (default: %(default)s)")
    p.add_argument("--clusters", type=Path, default=None,
                   help="the suite's data directory (default: ./clusters, else the one "
                        "beside the package)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=cmd_check)
