"""Parity with a kind node: what a real node has, so a config is judged, not our machine.

Issue #19 found configs blamed for our test machine's gaps: no default route (containerd's
stream server then cannot pick an address), containerd 2.x's default sandbox image pulled
offline, CRI looked for where the config put it rather than where the kubelet looks. The
data is ``clusters/node-parity.toml`` (each entry cites its upstream source); this module
reads it and makes a started node match it, through :mod:`.nodeutils`-style functions
over a :class:`~.backend.Node`. What it had to add is recorded in the cell's facts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from .. import datafile as df
from ..errors import InputError, ProbeError
from .backend import Node

FILE = "node-parity.toml"
KEYS = frozenset({"kubelet_cri_endpoint", "paths", "default_route", "sandbox_images"})
SANDBOX_LINE = re.compile(r"""^\s*(?:sandbox_image|sandbox)\s*=\s*['"]([^'"]+)['"]""", re.M)
# A kind node's address and gateway are on the kind network; here a veth pair (both ends
# in the node, nothing leaves it) carries an address and the default route, as qemu's
# user network does for a VM node (10.0.2.15, gateway 10.0.2.2).
_ROUTE = r"""
busybox awk 'NR > 1 && $2 == "00000000" {found = 1} END {exit !found}' /proc/net/route && exit 0
ip() { busybox ip "$@"; }
ip link add ccn0 type veth || exit 1
peer=$(ip -o link | sed -n 's/^[0-9]*: \([^@:]*\)@ccn0.*/\1/p')
for l in $peer ccn0; do ip link set "$l" up; done
ip addr add 10.0.2.15/24 dev ccn0 && ip route add default via 10.0.2.2 dev ccn0 && echo added
"""


@dataclass(frozen=True)
class Parity:
    kubelet_cri_endpoint: str
    paths: tuple[str, ...]
    default_route: bool
    sandbox_images: tuple[tuple[str, str, str], ...]  # (containerd minor, image, source)

    @property
    def default_sandbox_refs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(image for _minor, image, _src in self.sandbox_images))


def load(clusters: Path) -> Parity:
    path = clusters / FILE
    doc = df.load_toml(path)
    df.known_keys(doc, KEYS, path, FILE)
    table: dict[str, Any] = df.field(doc, "sandbox_images", path, FILE, "a table",
                                     df.is_table)
    images = []
    for minor, entry in table.items():
        what = f"sandbox_images.{minor}"
        if not isinstance(entry, dict):
            raise InputError(f"{what} must be a table with image and source", path=path)
        df.known_keys(entry, ("image", "source"), path, what)
        images.append((minor, df.string(entry, "image", path, what),
                       df.string(entry, "source", path, what)))
    return Parity(df.string(doc, "kubelet_cri_endpoint", path, FILE),
                  df.strs(doc, "paths", path, FILE),
                  bool(df.field(doc, "default_route", path, FILE, "true or false",
                                lambda v: isinstance(v, bool), False)),
                  tuple(images))


@lru_cache(maxsize=4)
def cached(clusters: Path) -> Parity:
    return load(clusters)


def prepare(node: Node, parity: Parity) -> list[str]:
    """Make a started node match a kind node; returns what was added (the cell's facts)."""
    added = []
    if parity.default_route:
        rc, out = node.exec("sh", "-c", _ROUTE)
        if rc != 0:
            raise ProbeError(f"cannot give the node a default route: {out[:200]}")
        if "added" in out:
            added.append("a default route via a veth pair in the node (10.0.2.15/24, gateway "
                         "10.0.2.2; nothing leaves the node), as a kind node has on its "
                         "network")
    rc, out = node.exec("sh", "-c", 'for d; do [ -d "$d" ] || { mkdir -p "$d" && echo "$d"; }; '
                        'done', "sh", *parity.paths)
    if rc != 0:
        raise ProbeError(f"cannot make the node's paths: {out[:200]}")
    made = [ln for ln in out.splitlines() if ln.strip()]
    if made:
        added.append(f"directories a kind node has: {', '.join(made)}")
    return added


def node_default_sandbox(node: Node) -> str:
    """The sandbox image the node's own containerd defaults to (``containerd config
    default``: ``sandbox_image`` up to 1.7, ``pinned_images.sandbox`` from 2.0)."""
    _rc, out = node.exec("containerd", "config", "default", timeout=30)
    found = SANDBOX_LINE.search(out)
    return found.group(1) if found else ""


def normalized(ref: str) -> str:
    """An image reference as containerd's CRI names it (distribution/reference
    ParseNormalizedNamed): a name without a registry is on docker.io, a one-part name in
    its library/, and no tag means :latest. ``ctr images tag`` does not normalize, so a
    sandbox image staged as written (``kubeedge/pause:3.6``) was not found by CRI
    (observed; the config was blamed with sandbox-fails)."""
    if not ref or "@" in ref or any(c.isspace() or c in "{}" for c in ref):
        return ref  # digests and templates: staged as written, containerd judges them
    first, _, rest = ref.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        ref = f"docker.io/{ref}" if rest else f"docker.io/library/{ref}"
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"


def sandbox_refs(parity: Parity, node_default: str, configured: list[str]) -> list[str]:
    """Every reference the node's containerd may ask for as its sandbox image, as written
    and as CRI normalizes it."""
    refs = (*parity.default_sandbox_refs, node_default, *configured)
    return [r for r in dict.fromkeys(x for ref in refs for x in (ref, normalized(ref))) if r]
