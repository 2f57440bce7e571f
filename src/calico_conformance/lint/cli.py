"""``calico-conformance lint``: the engine's findings for files named on the command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .. import tools
from ..catalog import Catalog
from ..cells import KindRelease, Target
from ..datafile import parse_yaml, read_text
from ..errors import InputError
from ..model import Finding, to_dict
from ..reporting.facts import visible
from ..variants import CGROUP_DRIVERS, META_SUFFIX, load_variant, meta_path
from ..versions import parse_version
from . import provenance
from .engine import lint_cluster_config, lint_file, lint_target


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "lint", help="predict what a containerd config.toml does to calico-node",
        description="Lint containerd config.toml files (or kind Cluster configs) before any "
                    "cluster exists. Exit 0: no errors; 1: error findings; 2: bad input.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="config.toml, a variant (with its .meta.toml sidecar: linted as the "
                        "matrix runs it), a kind Cluster config (.yaml), or a directory")
    p.add_argument("--kubelet-cgroup-driver", choices=CGROUP_DRIVERS, default="systemd")
    p.add_argument("--containerd-version", default=None,
                   help="containerd on the node (default: a kind release's own base config "
                        "is judged for that release's containerd; otherwise the containerd "
                        "installed here, else the newest kind release's; with --on-kind, "
                        "that release's); the version assumed is said on stderr")
    p.add_argument("--on-kind", metavar="vX.Y.Z", default=None,
                   help="treat TOML files as kind patches over this kind release's base config")
    p.add_argument("--pause-image", default=None, metavar="IMAGE",
                   help="the node's pinned pause image, compared with a standalone file's "
                        "sandbox image")
    p.add_argument("--clusters", type=Path, default=None,
                   help="the suite's data directory (default: ./clusters, else the one "
                        "beside this package's source)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def _expand(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file()
                           and p.suffix in (".toml", ".yaml", ".yml")
                           and not p.name.endswith(META_SUFFIX))
            lintable = [p for p in found if p.suffix == ".toml" or _is_cluster_config(p)]
            if not lintable:  # an empty "all clear" would be a lie: nothing was judged
                raise InputError("no containerd config files (*.toml) or kind Cluster "
                                 f"configs under {path}")
            out.extend(lintable)
        elif path.name.endswith(META_SUFFIX):  # a sidecar stands for its variant
            variant = path.with_name(path.name.removesuffix(META_SUFFIX) + ".toml")
            if not variant.is_file():
                raise InputError("a sidecar without its variant file beside it", path=path)
            out.append(variant)
        elif not path.exists():
            raise InputError("no such file, directory or shipped variant", path=path)
        else:
            out.append(path)
    return list(dict.fromkeys(out))  # a glob names a variant and its sidecar: lint it once


def _is_cluster_config(path: Path) -> bool:
    try:
        doc = parse_yaml(read_text(path), path=path)
    except InputError:
        return False
    return isinstance(doc, dict) and doc.get("kind") == "Cluster"


def clusters_dir(args: argparse.Namespace) -> Path | None:
    """``--clusters``, else the data beside this package's source (an editable install,
    so ``lint`` works from any directory), else None."""
    if args.clusters is not None:
        if not args.clusters.is_dir():
            raise InputError("--clusters: not a directory", path=args.clusters)
        return Path(args.clusters)
    for candidate in (Path("clusters"), Path(__file__).resolve().parents[3] / "clusters"):
        if (candidate / "kind" / "releases.toml").is_file():
            return candidate
    return None


def _observed(args: argparse.Namespace) -> dict[tuple[str, str], list[str]]:
    """What the clusters data says was observed; without that data, nothing was (every
    prediction then reads "from the literature only")."""
    try:
        return provenance.load(clusters_dir(args))
    except InputError as exc:
        if "--clusters" in str(exc):
            return {}
        raise


def _catalog(args: argparse.Namespace, why: str) -> Catalog:
    clusters = clusters_dir(args)
    if clusters is None:
        raise InputError(f"{why} needs the suite's clusters directory: pass --clusters DIR")
    return Catalog(clusters)


def _kind_release(args: argparse.Namespace, why: str) -> KindRelease:
    """``--on-kind``'s release, else the newest in the catalog (a default from data)."""
    releases = _catalog(args, why).kind
    if not releases:
        raise InputError(f"{why} needs a kind release, and none is declared")
    if args.on_kind is None:
        return releases[max(releases, key=lambda v: parse_version(v) or (0, 0, 0))]
    if args.on_kind not in releases:
        raise InputError(f"--on-kind: unknown kind release {args.on_kind!r} "
                         f"(known: {', '.join(releases)})")
    return releases[args.on_kind]


def _assumed_containerd(args: argparse.Namespace, path: Path) -> tuple[str, str]:
    """The containerd a whole config.toml is judged for, and where that came from: a kind
    release's own base config is its release's; else the containerd installed here;
    else the newest kind release's."""
    clusters = clusters_dir(args)
    text = read_text(path).encode()  # capped: /dev/zero or a FIFO is one line, not a hang
    releases = Catalog(clusters).kind if clusters else {}
    for release in releases.values():
        if release.base_config.read_bytes() == text:
            return release.containerd, f"the base config of kind {release.version}"
    installed = tools.which("containerd")
    if installed:
        res = tools.run([installed, "--version"], check=False, timeout=30)
        found = parse_version(res.stdout.split(" ", 2)[-1]) if res.ok else None
        if found:
            return ".".join(map(str, found)), f"installed here ({installed})"
    if releases:
        newest = _kind_release(args, "the default --containerd-version")
        return newest.containerd, f"the newest kind release, {newest.version}"
    raise InputError("no containerd installed here and no clusters directory: pass "
                     "--containerd-version X.Y.Z", path=path)


def _lint_one(args: argparse.Namespace, path: Path, on_kind: KindRelease | None
              ) -> tuple[list[Finding], str]:
    """One file's findings and a note on how it was judged ("" when nothing to say)."""
    if path.suffix in (".yaml", ".yml"):
        kind = on_kind or _kind_release(args, f"{path} is a kind Cluster config; it")
        return lint_cluster_config(path, kind=kind,
                                   kubelet_cgroup_driver=args.kubelet_cgroup_driver), ""
    if meta_path(path).is_file():  # a variant: judge it as the matrix does, sidecar and all
        kind = on_kind or _kind_release(args, f"{path} is a variant; it")
        variant = load_variant(path)
        note = (f"{path}: linted as the matrix runs variant {variant.name}: over kind "
                f"{kind.version}'s base config, with its sidecar")
        return list(lint_target(Target(variant, kind))), note
    if on_kind is not None or args.containerd_version:
        return lint_file(path, kubelet_cgroup_driver=args.kubelet_cgroup_driver,
                         containerd_version=args.containerd_version, on_kind=on_kind,
                         pinned_pause=args.pause_image), ""
    version, source = _assumed_containerd(args, path)
    return lint_file(path, kubelet_cgroup_driver=args.kubelet_cgroup_driver,
                     containerd_version=version, pinned_pause=args.pause_image), (
        f"{path}: judged for containerd {version} ({source}); pass --containerd-version "
        f"to choose")


def run(args: argparse.Namespace) -> int:
    on_kind = _kind_release(args, "--on-kind") if args.on_kind else None
    observed = _observed(args)
    findings: list[Finding] = []
    lines: list[str] = []
    for path in _expand(args.paths):
        found, note = _lint_one(args, path, on_kind)
        found = provenance.annotate(found, observed)
        findings += found
        if note:
            print(visible(f"lint: {note}"), file=sys.stderr)
        lines.append(format_text(found) if found else f"{path}: ok\n")
    print(format_json(findings) if args.format == "json" else "".join(lines), end="")
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
        if f.basis:
            lines.append(f"    basis: {f.basis}")
        lines.extend(f"    see: {ref}" for ref in f.references)
    # Paths, table names and values come from the user's file: no terminal controls.
    return "".join(visible(line) + "\n" for line in lines)


def format_json(findings: Sequence[Finding]) -> str:
    return json.dumps([to_dict(f) for f in findings], indent=2) + "\n"
