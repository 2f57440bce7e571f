"""The matrix as data: Calico versions, kind releases, containerd variants, profiles.

Everything version-, digest- or sha256-shaped lives in ``clusters/``; this module
only reads it, checking every value, and turns a profile into the declarations of
:mod:`calico_conformance.cells`. One variant's files are read by :mod:`.variants`.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

from .cells import CalicoRelease, Cell, KindRelease, Point, Profile, Target, Variant
from .clock import parse_duration
from .datafile import (
    choice,
    entries,
    is_strs,
    is_table,
    is_tables,
    known_keys,
    load_toml,
    string,
    strs,
    unique,
)
from .datafile import field as typed
from .errors import InputError
from .variants import (
    CGROUP_DRIVERS,
    META_SUFFIX,
    check_name,
    check_recipes,
    load_variant,
    meta_path,
    user_variant_name,
)
from .versions import minor_key

PROFILE_KEYS = frozenset({"description", "calico", "variants", "points", "soak", "workers",
                          "pod_subnet"})


# --- reading clusters/ data: every value type-checked where it is read -----------------------

_MINOR = re.compile(r"\d+\.\d+")
_RELEASE = re.compile(r"v\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?")
_SEMVER = re.compile(r"\d+\.\d+\.\d+")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PLATFORM = re.compile(r"(linux|darwin)-(amd64|arm64)")


def _calico_release(entry: dict[str, Any], path: Path) -> CalicoRelease:
    version = string(entry, "version", path, "calico entry", pattern=_RELEASE,
                   want='a release like "v3.28.2"')
    kt = typed(entry, "kubernetes_tested", path, version,
                'two "X.Y" Kubernetes minors, lowest first',
                lambda v: is_strs(v) and len(v) == 2 and all(_MINOR.fullmatch(x) for x in v)
                and minor_key(v[0]) <= minor_key(v[1]))
    return CalicoRelease(
        version=version,
        manifest_url=string(entry, "manifest_url", path, version),
        sha256=string(entry, "sha256", path, version, pattern=_SHA256,
                    want="a sha256 (64 lowercase hex digits)"),
        images=strs(entry, "images", path, version),
        kubernetes_tested=(kt[0], kt[1]),
        note=string(entry, "note", path, version, ""),
    )


def _kind_release(entry: dict[str, Any], path: Path) -> KindRelease:
    version = string(entry, "version", path, "kind entry", pattern=_RELEASE,
                   want='a release like "v0.24.0"')
    base = path.parent / string(entry, "base_config", path, version)
    if not base.is_file():
        raise InputError(f"{version}: base_config {str(base)!r} is not a file", path=path)
    images = typed(entry, "images", path, version, 'a table of "X.Y" = "image@sha256:..."',
                    lambda v: is_table(v) and all(_MINOR.fullmatch(k) and isinstance(i, str)
                                                   for k, i in v.items()))
    shims = strs(entry, "shims", path, version)
    if not shims:
        raise InputError(f"{version}: 'shims' must name at least one shim", path=path)
    return KindRelease(
        version=version,
        containerd=string(entry, "containerd", path, version, pattern=_SEMVER,
                        want='a version like "1.7.18"'),
        base_config=base,
        kubelet_cgroup_driver=choice(entry, "kubelet_cgroup_driver", CGROUP_DRIVERS, path,
                                      version, "systemd"),
        images=dict(images),
        downloads=_downloads(entry, path, version),
        shims=shims,
    )


def _downloads(entry: dict[str, Any], path: Path, version: str) -> dict[str, tuple[str, str]]:
    table = typed(entry, "downloads", path, version,
                   'tables [kind.downloads."<os>-<arch>"] with url and sha256', is_table, {})
    out: dict[str, tuple[str, str]] = {}
    for plat, pin in table.items():
        what = f"{version} downloads.{plat}"
        if not _PLATFORM.fullmatch(plat):
            raise InputError(f"{what}: platform must be <os>-<arch> as kind names its "
                             f"binaries (linux|darwin)-(amd64|arm64)", path=path)
        if not is_table(pin):
            raise InputError(f"{what}: must be a table with url and sha256", path=path)
        known_keys(pin, {"url", "sha256"}, path, what)
        out[plat] = (string(pin, "url", path, what),
                     string(pin, "sha256", path, what, pattern=_SHA256,
                          want="a sha256 (64 lowercase hex digits)"))
    return out


def _selection(table: dict[str, Any], key: str, path: Path, what: str) -> Any:
    return typed(table, key, path, what, "a glob string or a non-empty list of them",
                  lambda v: isinstance(v, str) or (is_strs(v) and bool(v)), "*")


def _profile_settings(table: dict[str, Any], path: Path, what: str) -> dict[str, Any]:
    """Type-check one ``[profiles.X]`` (or ``[defaults]``) table; returns only the keys set."""
    known_keys(table, PROFILE_KEYS, path, what)
    for key in ("calico", "variants", "points"):
        _selection(table, key, path, what)
    string(table, "description", path, what, "")
    typed(table, "workers", path, what, "a whole number >= 0",
           lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, None)
    soak = typed(table, "soak", path, what, 'a duration like "10m"',
                  lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool), None)
    if soak is not None:
        try:
            parse_duration(str(soak), option=f"{what}: 'soak'")
        except InputError as exc:
            raise InputError(exc.message, path=path) from exc
    subnet = string(table, "pod_subnet", path, what, "")
    if subnet:
        try:
            ipaddress.ip_network(subnet)
        except ValueError as exc:
            raise InputError(f"{what}: 'pod_subnet' = {subnet!r} is not a network: {exc}",
                             path=path) from exc
    return table


class Catalog:
    """Reads ``clusters/``. Construct once per session; each file is read (and checked) once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        if not root.is_dir():
            raise InputError("clusters directory not found", path=root)

    @cached_property
    def calico(self) -> dict[str, CalicoRelease]:
        path = self.root / "calico" / "versions.toml"
        out: dict[str, CalicoRelease] = {}
        for entry in entries(path, "calico"):
            release = _calico_release(entry, path)
            out[unique(out, release.version, path, "calico version")] = release
        return out

    @cached_property
    def kind(self) -> dict[str, KindRelease]:
        path = self.root / "kind" / "releases.toml"
        out: dict[str, KindRelease] = {}
        for entry in entries(path, "kind"):
            release = _kind_release(entry, path)
            out[unique(out, release.version, path, "kind release")] = release
        return out

    @cached_property
    def variants(self) -> dict[str, Variant]:
        vdir, out = self.root / "containerd", {}
        # a recipe is named by its file (node/recipes.py)
        recipes = [p.stem for p in (self.root / "nodes").glob("*.toml") if "." not in p.stem]
        for path in sorted(vdir.glob("*.toml")):
            if path.name.endswith(META_SUFFIX):
                if not path.with_name(path.name.removesuffix(META_SUFFIX) + ".toml").exists():
                    raise InputError("sidecar without a variant file beside it", path=path)
                continue
            variant = load_variant(path)
            check_recipes(variant, recipes)
            out[variant.name] = variant
        return out

    def points(self, matrix: dict[str, Any], path: Path) -> dict[str, Point]:
        out: dict[str, Point] = {}
        points = typed(matrix, "points", path, path.name, "an array of tables ([[points]])",
                       is_tables, [])
        for entry in points:
            pid = check_name(string(entry, "id", path, "point"), path=path, what="point id",
                             fix="rename the point")
            kv = string(entry, "kind", path, pid)
            k8s = string(entry, "kubernetes", path, pid)
            if kv not in self.kind:
                raise InputError(f"point {pid}: unknown kind release {kv!r} "
                                 f"(known: {', '.join(self.kind)})", path=path)
            if k8s not in self.kind[kv].images:
                raise InputError(f"point {pid}: kind {kv} pins no node image for Kubernetes "
                                 f"{k8s} (pinned: {', '.join(self.kind[kv].images)})", path=path)
            out[unique(out, pid, path, "point")] = Point(pid, self.kind[kv], k8s)
        return out

    def profile(self, name: str, matrix_path: Path | None = None,
                extra_variants: Iterable[str] = (), *, only_extra: bool = True,
                as_is: bool = False, expect: str = "") -> Profile:
        """``extra_variants`` are ``--variant [NAME=]PATH`` specs; when given, only they
        run (``only_extra``), on the profile's Calico releases and points."""
        path = matrix_path or self.root / "matrix.toml"
        matrix = load_toml(path)
        known_keys(matrix, ("defaults", "points", "profiles"), path, path.name)
        profiles = typed(matrix, "profiles", path, path.name, "a table of [profiles.NAME]",
                          lambda v: is_table(v) and all(map(is_table, v.values())), {})
        defaults = _profile_settings(typed(matrix, "defaults", path, path.name, "a table",
                                            is_table, {}), path, "[defaults]")
        for pname, ptable in profiles.items():  # a broken profile fails every run, not its own
            _profile_settings(ptable, path, f"profile {pname}")
        if name not in profiles:
            raise InputError(f"no profile {name!r} (profiles: {', '.join(profiles)})", path=path)
        prof = {**defaults, **profiles[name]}
        points = self.points(matrix, path)
        variants = dict(self.variants)
        extras = [replace(v, expect_all=expect) for v in self._extras(list(extra_variants),
                                                                    as_is)]
        variants.update((v.name, v) for v in extras)
        calicos = self._select(prof.get("calico", "*"), self.calico, path, f"profile {name} calico")
        vsel = self._select(prof.get("variants", "*"), variants, path, f"profile {name} variants")
        if extras and only_extra:
            vsel = {}
        for extra in extras:
            vsel.setdefault(extra.name, extra)
        for v in vsel.values():
            unknown = sorted(set(v.expected_by_calico) - set(self.calico))
            if unknown:
                raise InputError(f"expected_by_calico: unknown Calico version {unknown[0]!r} "
                                 f"(known: {', '.join(self.calico)})", path=meta_path(v.path))
        psel = self._select(prof.get("points", "*"), points, path, f"profile {name} points")
        for key in ("workers", "soak", "pod_subnet"):  # defaults are data, not code
            if key not in prof:
                raise InputError(f"profile {name}: no {key!r} (set it in [defaults] or in "
                                 f"[profiles.{name}])", path=path)
        soak_s = parse_duration(str(prof["soak"]), option=f"{path}: soak")
        # One target per (variant, kind release): its effective config is computed once.
        targets = {(v.name, k.version): Target(v, k) for v in vsel.values()
                   for k in {p.kind.version: p.kind for p in psel.values()}.values()}
        cells = tuple(
            Cell(calico=c, target=targets[(v.name, p.kind.version)], point=p,
                 workers=prof["workers"], soak_s=soak_s, pod_subnet=prof["pod_subnet"])
            for c in calicos.values() for v in vsel.values() for p in psel.values()
        )
        return Profile(name=name, cells=cells, soak_s=soak_s,
                       description=prof.get("description", ""))

    def _extras(self, specs: list[str], as_is: bool) -> list[Variant]:
        out: dict[str, Variant] = {}
        for spec in _expand_dirs(specs):
            vname, vpath = user_variant_name(spec)
            if vname in self.variants or vname in out:
                what = "a shipped variant" if vname in self.variants else "given twice"
                raise InputError(f"--variant {spec}: the name {vname!r} is {what}; name "
                                 f"yours with --variant NAME={vpath}")
            out[vname] = load_variant(vpath, vname, as_is=as_is)
        return list(out.values())

    @staticmethod
    def _select(spec: str | list[str], known: dict[str, Any], path: Path,
                what: str) -> dict[str, Any]:
        patterns = [spec] if isinstance(spec, str) else list(spec)
        out: dict[str, Any] = {}
        for pat in patterns:
            hits = [k for k in known if fnmatch.fnmatchcase(k, pat)]
            if not hits:
                raise InputError(f"{what}: {pat!r} matches nothing (known: {', '.join(known)})",
                                 path=path)
            out.update({k: known[k] for k in hits})
        return out


def _expand_dirs(specs: list[str]) -> list[str]:
    """``--variant DIR``: every config in it (``*.toml`` but the sidecars), by name."""
    out: list[str] = []
    for spec in specs:
        path = Path(spec)
        if "=" not in spec and path.is_dir():
            found = sorted(str(p) for p in path.glob("*.toml")
                           if not p.name.endswith(META_SUFFIX))
            if not found:
                raise InputError(f"--variant {spec}: a folder with no *.toml config in it")
            out += found
        else:
            out.append(spec)
    return out
