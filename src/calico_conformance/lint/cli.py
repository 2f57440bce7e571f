"""``calico-conformance lint``: the engine's findings for files named on the command line."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..catalog import Catalog
from ..cells import KindRelease
from ..datafile import parse_yaml, read_text
from ..errors import InputError
from ..model import Finding, to_dict
from ..reporting.facts import visible
from ..variants import CGROUP_DRIVERS
from ..versions import parse_version
from .engine import lint_cluster_config, lint_file


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "lint", help="predict what a containerd config.toml does to calico-node",
        description="Lint containerd config.toml files (or kind Cluster configs) before any "
                    "cluster exists. Exit 0: no errors; 1: error findings; 2: bad input.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="config.toml, a kind Cluster config (.yaml), or a directory")
    p.add_argument("--kubelet-cgroup-driver", choices=CGROUP_DRIVERS, default="systemd")
    p.add_argument("--containerd-version", default=None,
                   help="containerd on the node (default: that of the newest kind release "
                        "under --clusters; with --on-kind, that release's)")
    p.add_argument("--on-kind", metavar="vX.Y.Z", default=None,
                   help="treat TOML files as kind patches over this kind release's base config")
    p.add_argument("--pause-image", default=None, metavar="IMAGE",
                   help="the node's pinned pause image, compared with a standalone file's "
                        "sandbox image")
    p.add_argument("--clusters", type=Path, default=Path("clusters"),
                   help="the suite's data directory, for --on-kind and kind Cluster configs")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def _expand(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file()
                           and p.suffix in (".toml", ".yaml", ".yml")
                           and not p.name.endswith(".meta.toml"))
            lintable = [p for p in found if p.suffix == ".toml" or _is_cluster_config(p)]
            if not lintable:  # an empty "all clear" would be a lie: nothing was judged
                raise InputError("no containerd config files (*.toml) or kind Cluster "
                                 f"configs under {path}")
            out.extend(lintable)
        elif not path.exists():
            raise InputError("no such file or directory", path=path)
        else:
            out.append(path)
    return out


def _is_cluster_config(path: Path) -> bool:
    try:
        doc = parse_yaml(read_text(path), path=path)
    except InputError:
        return False
    return isinstance(doc, dict) and doc.get("kind") == "Cluster"


def _kind_release(args: argparse.Namespace, why: str) -> KindRelease:
    """``--on-kind``'s release, else the newest in the catalog (a default from data)."""
    if not args.clusters.is_dir():
        raise InputError(f"{why} needs the suite's clusters directory (--clusters)",
                         path=args.clusters)
    releases = Catalog(args.clusters).kind
    if not releases:
        raise InputError(f"{why} needs a kind release, and none is declared",
                         path=args.clusters / "kind" / "releases.toml")
    if args.on_kind is None:
        return releases[max(releases, key=lambda v: parse_version(v) or (0, 0, 0))]
    if args.on_kind not in releases:
        raise InputError(f"--on-kind: unknown kind release {args.on_kind!r} "
                         f"(known: {', '.join(releases)})")
    return releases[args.on_kind]


def _default_containerd(args: argparse.Namespace) -> str:
    """The newest kind release's containerd: the default comes from data, not code."""
    if not args.clusters.is_dir():
        raise InputError("not a directory, so no kind release to take the default containerd "
                         "version from: pass --containerd-version X.Y.Z or --clusters DIR",
                         path=args.clusters)
    return _kind_release(args, "the default --containerd-version").containerd


def run(args: argparse.Namespace) -> int:
    findings: list[Finding] = []
    on_kind = _kind_release(args, "--on-kind") if args.on_kind else None
    ctrd = args.containerd_version
    for path in _expand(args.paths):
        if path.suffix in (".yaml", ".yml"):
            kind = on_kind or _kind_release(args, f"{path} is a kind Cluster config; it")
            findings += lint_cluster_config(path, kind=kind,
                                            kubelet_cgroup_driver=args.kubelet_cgroup_driver)
            continue
        if on_kind is None and ctrd is None:
            ctrd = _default_containerd(args)
        findings += lint_file(path, kubelet_cgroup_driver=args.kubelet_cgroup_driver,
                              containerd_version=ctrd, on_kind=on_kind,
                              pinned_pause=args.pause_image)
    print(format_json(findings) if args.format == "json" else format_text(findings), end="")
    return 1 if any(f.severity == "error" for f in findings) else 0


def format_text(findings: Sequence[Finding]) -> str:
    lines: list[str] = []
    for f in findings:
        where = f"{f.path}:{f.line}" if f.line is not None else f.path
        subject = " ".join(x for x in (f"[{f.table}]" if f.table else "", f.key) if x)
        subject = f" {subject}" if subject else ""
        predicted = f" (predicted: {f.predicted})" if f.predicted else ""
        lines.append(f"{where}: {f.code} {f.severity}{subject}: {f.message}{predicted}")
        if f.fix:
            lines.append(f"    fix: {f.fix}")
        lines.extend(f"    see: {ref}" for ref in f.references)
    # Paths, table names and values come from the user's file: no terminal controls.
    return "".join(visible(line) + "\n" for line in lines)


def format_json(findings: Sequence[Finding]) -> str:
    return json.dumps([to_dict(f) for f in findings], indent=2) + "\n"
