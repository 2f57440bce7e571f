"""Node image recipes (``clusters/nodes/*.toml``) and the apt mirror they are built from.

A recipe is data: the Debian suite, the packages, optionally packages taken from a
newer suite, and the kind release whose base containerd config the node runs. The
image tag carries the sha256 of the recipe file plus :data:`LAYOUT`, so an edited
recipe (or a change in how we lay the root filesystem out) builds a new image and an
unchanged one is reused.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..catalog import Catalog
from ..cells import NodeCell, Target, Variant
from ..datafile import field as typed
from ..datafile import is_table, known_keys, load_toml, string, strs
from ..errors import InputError
from ..variants import check_recipes
from ..versions import parse_version

# Bump when build.py lays out the root filesystem differently: old images become stale.
LAYOUT = "4"
IMAGE_REPO = "calico-conformance/node"
ENTRYPOINT = "entrypoint.sh"  # beside the recipes; part of every image's digest
RECIPE_KEYS = frozenset({"name", "suite", "kind", "description", "packages", "overlay"})
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,30}")
_SUITE = re.compile(r"[a-z][a-z0-9-]{1,30}")


@dataclass(frozen=True)
class Overlay:
    """Packages unpacked from another suite over the base (their binaries must only need libc)."""

    suite: str
    packages: tuple[str, ...]


@dataclass(frozen=True)
class Recipe:
    name: str
    suite: str
    kind: str
    description: str
    packages: tuple[str, ...]
    overlay: Overlay | None
    path: Path
    digest: str  # sha256 of the recipe file and LAYOUT

    @property
    def tag(self) -> str:
        return f"{IMAGE_REPO}:{self.name}-{self.digest[:12]}"

    @property
    def entrypoint(self) -> Path:
        return self.path.with_name(ENTRYPOINT)

    @property
    def installed_path(self) -> Path:
        return self.path.with_name(f"{self.name}.installed.toml")

    def installed(self) -> dict[str, str]:
        """What the last build recorded (``nodes build`` writes it); {} before any build."""
        if not self.installed_path.is_file():
            return {}
        data = load_toml(self.installed_path)
        return {str(k): str(v) for k, v in data.get("installed", {}).items()}


def load_recipe(path: Path) -> Recipe:
    raw = path.read_bytes()
    data = load_toml(path)
    what = "node recipe"
    known_keys(data, RECIPE_KEYS, path, what)
    name = string(data, "name", path, what, pattern=_NAME, want="a short lowercase name")
    if path.name != f"{name}.toml":
        raise InputError(f"recipe name {name!r} must match its file name", path=path)
    overlay: Overlay | None = None
    table: dict[str, Any] = typed(data, "overlay", path, what, "a table ([overlay])", is_table, {})
    if table:
        known_keys(table, {"suite", "packages"}, path, "[overlay]")
        overlay = Overlay(string(table, "suite", path, "[overlay]", pattern=_SUITE,
                                 want="a Debian suite"),
                          strs(table, "packages", path, "[overlay]"))
    entry = path.with_name(ENTRYPOINT)
    if not entry.is_file():
        raise InputError(f"{ENTRYPOINT} missing beside the recipe", path=path)
    digest = hashlib.sha256(raw + b"\0" + entry.read_bytes() + b"\0layout="
                            + LAYOUT.encode()).hexdigest()
    return Recipe(name=name,
                  suite=string(data, "suite", path, what, pattern=_SUITE, want="a Debian suite"),
                  kind=string(data, "kind", path, what),
                  description=string(data, "description", path, what, ""),
                  packages=strs(data, "packages", path, what), overlay=overlay, path=path,
                  digest=digest)


def load_recipes(clusters: Path) -> dict[str, Recipe]:
    """Every recipe under ``clusters/nodes``, by name (sorted)."""
    out: dict[str, Recipe] = {}
    for path in sorted((clusters / "nodes").glob("*.toml")):
        if path.name.endswith(".installed.toml"):
            continue
        recipe = load_recipe(path)
        out[recipe.name] = recipe
    return out


# --- the machine's own apt mirror -------------------------------------------------------------

@dataclass(frozen=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


def _one_line_sources(text: str) -> list[AptSource]:
    out = []
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()  # drop [options]
        if len(words) >= 3 and words[0] == "deb":
            out.append(AptSource(words[1], (words[2],), tuple(words[3:])))
    return out


def _deb822_sources(text: str) -> list[AptSource]:
    out = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled") == "no":
            continue
        for uri in fields.get("uris", "").split():
            out.append(AptSource(uri, tuple(fields.get("suites", "").split()),
                                 tuple(fields.get("components", "").split())))
    return out


def apt_sources(etc_apt: Path = Path("/etc/apt")) -> list[AptSource]:
    """``deb`` sources from sources.list, sources.list.d/*.list and *.sources, in apt's order."""
    out: list[AptSource] = []
    main = etc_apt / "sources.list"
    if main.is_file():
        out += _one_line_sources(main.read_text(errors="replace"))
    d = etc_apt / "sources.list.d"
    if d.is_dir():
        for f in sorted(d.iterdir()):
            if f.suffix == ".list":
                out += _one_line_sources(f.read_text(errors="replace"))
            elif f.suffix == ".sources":
                out += _deb822_sources(f.read_text(errors="replace"))
    return out


def debian_mirror(sources: list[AptSource]) -> str:
    """The first source that serves Debian's main archive (``main``, not a -security or
    -updates suite): that mirror also serves the other suites debootstrap needs."""
    for src in sources:
        if "main" not in src.components:
            continue
        if any(not re.search(r"-(security|updates|backports)$", s) and "/" not in s
               for s in src.suites) and not src.uri.rstrip("/").endswith("-security"):
            return src.uri
    raise InputError("no Debian 'main' archive in this machine's apt configuration; "
                     "pass --mirror URL")


def node_cells(catalog: Catalog, variants: list[Variant], pattern: str,
               backends: str = "docker") -> list[NodeCell]:
    """Every variant on every recipe ``pattern`` selects (a glob or a comma list) on every
    backend named, over the kind release whose base config the recipe's node stands in for."""
    from ..hostcgroups import cgroup_version
    from .backend import BACKENDS

    chosen = [b.strip() for b in backends.split(",") if b.strip()]
    for b in chosen:
        if b not in BACKENDS:
            raise InputError(f"--node-backends: unknown backend {b!r} "
                             f"(known: {', '.join(BACKENDS)})")
    recipes = load_recipes(catalog.root)
    pats = [p.strip() for p in pattern.split(",") if p.strip()]
    names = [r for r in recipes if any(fnmatch.fnmatchcase(r, p) for p in pats)]
    if not names:
        raise InputError(f"--node-images {pattern!r} matches no recipe "
                         f"(known: {', '.join(recipes)})")
    targets: dict[tuple[str, str], Target] = {}
    cells = []
    for v in variants:
        check_recipes(v, recipes)
    for v in sorted(variants, key=lambda v: v.name):
        for r in names:
            kind = catalog.kind[recipes[r].kind]
            target = targets.setdefault((v.name, kind.version), Target(v, kind))
            found = parse_version(recipes[r].installed().get("containerd", ""))
            cells += [NodeCell(target, r, node_image=recipes[r].tag,
                               containerd=".".join(map(str, found)) if found else "",
                               backend=b, cgroup="v2" if b == "vm" else cgroup_version())
                      for b in chosen]
    return cells
