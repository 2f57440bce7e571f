"""The host's own cgroup tree: removing what a probe's containerd or a Docker node left.

The one module that touches ``/sys/fs/cgroup`` on the host (and says which version it
is). A node's cgroups are read and written inside the node (:mod:`.node.cgroups`); only
what outlives a process or a container on the host is removed here, by name, deepest
first.
"""

from __future__ import annotations

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_version(root: Path = CGROUP_ROOT) -> str:
    """The host's: ``cgroup.controllers`` exists only at the root of a unified hierarchy
    (a Docker node shares the host's kernel and so its cgroup version)."""
    return "v2" if (root / "cgroup.controllers").exists() else "v1"


def hierarchies(root: Path = CGROUP_ROOT) -> list[Path]:
    """The unified root on cgroup v2, else every mounted v1 hierarchy (not the symlinks)."""
    if (root / "cgroup.controllers").exists():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())


def rmdir_tree(top: Path) -> list[str]:
    """rmdir ``top`` and everything below it, deepest first; the first failure stops it."""
    dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
    for d in [*dirs, top]:
        try:
            d.rmdir()
        except FileNotFoundError:
            continue
        except OSError as exc:
            return [f"cgroup {d}: {exc.strerror}"]
    return []


def remove_named(token: str, root: Path = CGROUP_ROOT, depth: int = 4) -> list[str]:
    """rmdir (deepest first) every cgroup whose name carries ``token`` (a probe's own)."""
    found: list[Path] = []
    for top in hierarchies(root):
        for cur, subdirs, _files in os.walk(top):
            if len(Path(cur).relative_to(top).parts) >= depth:
                subdirs.clear()
                continue
            found += [Path(cur) / d for d in subdirs if token in d]
            subdirs[:] = [d for d in subdirs if token not in d]
    problems: list[str] = []
    for top_hit in found:
        for cur, _subdirs, _files in sorted(os.walk(top_hit), key=lambda t: -len(t[0])):
            try:
                Path(cur).rmdir()
            except OSError as exc:
                problems.append(f"cgroup {cur}: {exc.strerror}")
    return problems


def remove_container_tree(container_id: str, root: Path = CGROUP_ROOT) -> list[str]:
    """What a killed Docker node's systemd left under ``/docker/<id>`` in every v1
    hierarchy (docker removes the container's own cgroup only when it is empty)."""
    problems: list[str] = []
    for hierarchy in hierarchies(root):
        top = hierarchy / "docker" / container_id
        if top.is_dir():
            problems += rmdir_tree(top)
    return problems
