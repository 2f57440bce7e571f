"""Preflight lint: predict what a containerd config does to calico-node, with no cluster.

The same rules (:mod:`.lint_rules`) judge a matrix cell (kind's base config plus the
variant's patches), a user's whole ``/etc/containerd/config.toml``, a patch meant for
kind, or the ``containerdConfigPatches`` of a kind Cluster config.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .catalog import CGROUP_DRIVERS
from .containerd import SkippedPatch, apply_kind_patches, parse_toml, view
from .containerd.config import CRI_V1, ContainerdView, parse_yaml
from .errors import InputError
from .lint_rules import LintContext, run_rules
from .model import Finding, to_dict
from .tools import parse_version

if TYPE_CHECKING:
    from .cells import Cell, KindRelease

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _containerd_tuple(version: str) -> tuple[int, int, int]:
    parsed = parse_version(version)
    if parsed is None:
        raise InputError(f"--containerd-version: {version!r} is not a version like 1.7.18")
    return parsed


def lint_view(view: ContainerdView, *, kubelet_cgroup_driver: str, containerd_version: str,
              shims: tuple[str, ...] | None, pinned_pause: str | None,
              skipped: tuple[SkippedPatch, ...] = (), source_text: str = "", path: str = "",
              standalone: bool) -> list[Finding]:
    """All findings for one effective config, most severe first (stable order otherwise)."""
    if kubelet_cgroup_driver not in CGROUP_DRIVERS:
        raise InputError(f"kubelet cgroup driver must be one of {', '.join(CGROUP_DRIVERS)}, "
                         f"not {kubelet_cgroup_driver!r}")
    ctrd = _containerd_tuple(containerd_version)
    ignored: tuple[str, ...] = ()
    plugins = view.data.get("plugins")
    if (standalone and view.declared_version is None and ctrd[0] < 2
            and isinstance(plugins, dict)):
        # containerd 1.x reads a version-less file as version 1, keyed by short plugin id:
        # full-URI tables are never read, so judge what containerd will really run.
        ignored = tuple(p for p in plugins if str(p).startswith("io.containerd."))
        if ignored:
            kept = {k: v for k, v in plugins.items() if k not in ignored}
            view = _view_without(view, kept)
    ctx = LintContext(view=view, kubelet_cgroup_driver=kubelet_cgroup_driver, containerd=ctrd,
                      shims=shims, pinned_pause=pinned_pause, skipped=skipped,
                      source_text=source_text, path=path, standalone=standalone,
                      ignored_tables=ignored)
    findings = run_rules(ctx)
    return sorted(findings, key=lambda f: SEVERITY_ORDER.get(f.severity, 3))


def _view_without(original: ContainerdView, plugins: dict[str, Any]) -> ContainerdView:
    data = {**original.data, "plugins": plugins}
    if CRI_V1 not in plugins:
        data["plugins"] = {**plugins, CRI_V1: {}}
    return view(data)


def lint_cell(cell: Cell) -> tuple[Finding, ...]:
    """Lint a matrix cell: kind's base config for the cell's release plus the variant."""
    kind = cell.point.kind
    effective = cell.effective
    base = view(parse_toml(kind.base_config_text(), path=kind.base_config))
    return tuple(lint_view(
        effective.view, kubelet_cgroup_driver=cell.kubelet_cgroup_driver,
        containerd_version=kind.containerd, shims=kind.shims, pinned_pause=base.sandbox_image,
        skipped=effective.skipped, source_text=cell.variant.text, path=str(cell.variant.path),
        standalone=False))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"cannot read: {reason}", path=path) from exc


def lint_file(path: Path, *, kubelet_cgroup_driver: str = "systemd",
              containerd_version: str | None = None, on_kind: KindRelease | None = None,
              pinned_pause: str | None = None) -> list[Finding]:
    """Lint a TOML file: the node's whole config, or (``on_kind``) a kind patch.

    Standalone, ``containerd_version`` is required (no version lives in code); with
    ``on_kind`` the release's containerd version and shims are used, the file is merged
    over its base config exactly as kind would, and the base's sandbox image is the
    pinned pause image; standalone, ``pinned_pause`` is compared only when given.
    """
    text = _read(path)
    if on_kind is None:
        if containerd_version is None:
            raise InputError("--containerd-version: needed to lint a whole config.toml",
                             path=path)
        data = parse_toml(text, path=path)
        return lint_view(view(data), kubelet_cgroup_driver=kubelet_cgroup_driver,
                         containerd_version=containerd_version, shims=None,
                         pinned_pause=pinned_pause,
                         source_text=text, path=str(path), standalone=True)
    return _lint_patches(on_kind, [text], [], kubelet_cgroup_driver, str(path), text)


def _lint_patches(kind: KindRelease, patches: list[str], patches6902: list[str],
                  kubelet_cgroup_driver: str, path: str, text: str) -> list[Finding]:
    base_text = kind.base_config_text()
    effective = apply_kind_patches(base_text, patches, patches6902,
                                   base_source=str(kind.base_config),
                                   patch_sources=[path] * len(patches))
    base = view(parse_toml(base_text, path=kind.base_config))
    return lint_view(effective.view, kubelet_cgroup_driver=kubelet_cgroup_driver,
                     containerd_version=kind.containerd, shims=kind.shims,
                     pinned_pause=base.sandbox_image, skipped=effective.skipped,
                     source_text=text, path=path, standalone=False)


def lint_cluster_config(path: Path, *, kind: KindRelease,
                        kubelet_cgroup_driver: str = "systemd") -> list[Finding]:
    """Lint the ``containerdConfigPatches`` of a kind Cluster config (YAML) over ``kind``."""
    text = _read(path)
    doc = parse_yaml(text, path=path)
    if not isinstance(doc, dict) or doc.get("kind") != "Cluster":
        raise InputError("not a kind Cluster config (kind: Cluster)", path=path)
    patches = doc.get("containerdConfigPatches") or []
    ops = doc.get("containerdConfigPatchesJSON6902") or []
    if not isinstance(patches, list) or not all(isinstance(p, str) for p in patches):
        raise InputError("containerdConfigPatches must be a list of strings", path=path)
    if not isinstance(ops, list) or not all(isinstance(p, str) for p in ops):
        raise InputError("containerdConfigPatchesJSON6902 must be a list of strings", path=path)
    if not patches and not ops:
        return []
    return _lint_patches(kind, patches, ops, kubelet_cgroup_driver, str(path), text)


# --- CLI -----------------------------------------------------------------------------------

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
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(doc, dict) and doc.get("kind") == "Cluster"


def _kind_release(args: argparse.Namespace, why: str) -> KindRelease:
    """``--on-kind``'s release, else the newest in the catalog (a default from data)."""
    from .catalog import Catalog

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
    return "".join(line + "\n" for line in lines)


def format_json(findings: Sequence[Finding]) -> str:
    return json.dumps([to_dict(f) for f in findings], indent=2) + "\n"
