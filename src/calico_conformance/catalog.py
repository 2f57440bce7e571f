"""The matrix as data: Calico versions, kind releases, containerd variants, profiles.

Everything version-, digest- or sha256-shaped lives in ``clusters/``; this module
only reads it and turns a profile into :class:`Cell` declarations. A cell is a
declaration, like a Cilium connectivity scenario: it knows whether it is in the
range upstream tests and what the variant expects, before anything runs.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .clock import parse_duration
from .containerd import EffectiveConfig, apply_kind_patches
from .containerd.config import load_toml
from .containerd.merge import json6902_text
from .errors import InputError
from .model import Axes, Tier, Verdict

META_SUFFIX = ".meta.toml"
EXPECTABLE = {v.value for v in Verdict} - {"unknown"}


@dataclass(frozen=True)
class CalicoRelease:
    version: str
    manifest_url: str
    sha256: str
    images: tuple[str, ...]
    kubernetes_tested: tuple[str, str]
    note: str = ""

    @property
    def minor(self) -> str:
        return ".".join(self.version.lstrip("v").split(".")[:2])

    def tests_kubernetes(self, minor: str) -> bool:
        lo, hi = (_minor_key(x) for x in self.kubernetes_tested)
        return lo <= _minor_key(minor) <= hi


@dataclass(frozen=True)
class KindRelease:
    version: str
    containerd: str
    base_config: Path
    kubelet_cgroup_driver: str
    images: dict[str, str]
    download_url: str = ""
    sha256: str = ""
    shims: tuple[str, ...] = ("io.containerd.runc.v2",)

    def base_config_text(self) -> str:
        try:
            return self.base_config.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read base config: {exc.strerror}",
                             path=self.base_config) from exc


@dataclass(frozen=True)
class Variant:
    """A containerd config.toml (whole or partial) plus what we know about it."""

    name: str
    path: Path
    text: str
    description: str = ""
    expected: str = ""  # a Verdict value or "" (no expectation: just report)
    expected_subtype: str = ""
    expected_by_calico: dict[str, str] = field(default_factory=dict)
    expected_probe: str = ""
    references: tuple[str, ...] = ()
    fix: str = ""
    kubelet: dict[str, Any] = field(default_factory=dict)
    json6902: tuple[dict[str, Any], ...] = ()

    @property
    def patches(self) -> list[str]:
        """The containerdConfigPatches kind gets: the variant's text, if it has any TOML."""
        return [self.text] if load_patch_nonempty(self.text) else []

    @property
    def patches6902(self) -> list[str]:
        return [json6902_text(list(self.json6902))] if self.json6902 else []

    def expected_for(self, calico: str) -> str:
        return self.expected_by_calico.get(calico, self.expected)


def load_patch_nonempty(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in text.splitlines())


@dataclass(frozen=True)
class Point:
    """A Kubernetes/kind/containerd point of the matrix."""

    id: str
    kind: KindRelease
    kubernetes: str

    @property
    def node_image(self) -> str:
        return self.kind.images[self.kubernetes]


@dataclass(frozen=True)
class Cell:
    calico: CalicoRelease
    variant: Variant
    point: Point
    workers: int
    soak_s: float
    pod_subnet: str

    @property
    def id(self) -> str:
        return f"{self.calico.version}-{self.variant.name}-{self.point.id}"

    @property
    def untested_upstream(self) -> bool:
        return not self.calico.tests_kubernetes(self.point.kubernetes)

    @property
    def expected(self) -> str:
        return self.variant.expected_for(self.calico.version)

    @cached_property
    def effective(self) -> EffectiveConfig:
        return effective_config(self.variant, self.point.kind)

    @property
    def kubelet_cgroup_driver(self) -> str:
        return str(self.variant.kubelet.get("cgroupDriver", self.point.kind.kubelet_cgroup_driver))

    def axes(self) -> Axes:
        return Axes(calico=self.calico.version, variant=self.variant.name, point=self.point.id,
                    kubernetes=self.point.kubernetes, kind=self.point.kind.version,
                    containerd=self.point.kind.containerd, node_image=self.point.node_image,
                    tier=Tier.KIND)


def effective_config(variant: Variant, kind: KindRelease) -> EffectiveConfig:
    return apply_kind_patches(kind.base_config_text(), variant.patches, variant.patches6902,
                              base_source=str(kind.base_config),
                              patch_sources=[str(variant.path)])


@dataclass(frozen=True)
class Profile:
    name: str
    cells: tuple[Cell, ...]
    soak_s: float
    description: str = ""


def _minor_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.lstrip("v").split(".")[:2])


def _require(table: dict[str, Any], key: str, typ: type, path: Path, what: str) -> Any:
    if key not in table:
        raise InputError(f"{what}: missing key {key!r}", path=path)
    value = table[key]
    if not isinstance(value, typ):
        raise InputError(f"{what}: {key!r} must be a {typ.__name__}", path=path)
    return value


class Catalog:
    """Reads ``clusters/``. Construct once per session; everything is lazy."""

    def __init__(self, root: Path) -> None:
        self.root = root
        if not root.is_dir():
            raise InputError("clusters directory not found", path=root)

    @cached_property
    def calico(self) -> dict[str, CalicoRelease]:
        path = self.root / "calico" / "versions.toml"
        out: dict[str, CalicoRelease] = {}
        for entry in load_toml(path).get("calico", []):
            version = _require(entry, "version", str, path, "calico entry")
            kt = _require(entry, "kubernetes_tested", list, path, version)
            out[version] = CalicoRelease(
                version=version,
                manifest_url=_require(entry, "manifest_url", str, path, version),
                sha256=_require(entry, "sha256", str, path, version),
                images=tuple(entry.get("images", ())),
                kubernetes_tested=(str(kt[0]), str(kt[-1])),
                note=entry.get("note", ""),
            )
        return out

    @cached_property
    def kind(self) -> dict[str, KindRelease]:
        path = self.root / "kind" / "releases.toml"
        out: dict[str, KindRelease] = {}
        for entry in load_toml(path).get("kind", []):
            version = _require(entry, "version", str, path, "kind entry")
            out[version] = KindRelease(
                version=version,
                containerd=_require(entry, "containerd", str, path, version),
                base_config=path.parent / _require(entry, "base_config", str, path, version),
                kubelet_cgroup_driver=entry.get("kubelet_cgroup_driver", "systemd"),
                images=dict(_require(entry, "images", dict, path, version)),
                download_url=entry.get("download_url", ""),
                sha256=entry.get("sha256", ""),
                shims=tuple(entry.get("shims", ("io.containerd.runc.v2",))),
            )
        return out

    @cached_property
    def variants(self) -> dict[str, Variant]:
        vdir = self.root / "containerd"
        return {v.name: v for v in (load_variant(p) for p in sorted(vdir.glob("*.toml"))
                                    if not p.name.endswith(META_SUFFIX))}

    def points(self, matrix: dict[str, Any], path: Path) -> dict[str, Point]:
        out: dict[str, Point] = {}
        for entry in matrix.get("points", []):
            pid = _require(entry, "id", str, path, "point")
            kv = _require(entry, "kind", str, path, pid)
            k8s = _require(entry, "kubernetes", str, path, pid)
            if kv not in self.kind:
                raise InputError(f"point {pid}: unknown kind release {kv!r} "
                                 f"(known: {', '.join(self.kind)})", path=path)
            if k8s not in self.kind[kv].images:
                raise InputError(f"point {pid}: kind {kv} pins no node image for Kubernetes "
                                 f"{k8s} (pinned: {', '.join(self.kind[kv].images)})", path=path)
            out[pid] = Point(pid, self.kind[kv], k8s)
        return out

    def profile(self, name: str, matrix_path: Path | None = None,
                extra_variants: Iterable[Path] = ()) -> Profile:
        path = matrix_path or self.root / "matrix.toml"
        matrix = load_toml(path)
        profiles = matrix.get("profiles", {})
        if name not in profiles:
            raise InputError(f"no profile {name!r} (profiles: {', '.join(profiles)})", path=path)
        defaults = matrix.get("defaults", {})
        prof = {**defaults, **profiles[name]}
        points = self.points(matrix, path)
        variants = dict(self.variants)
        for extra in extra_variants:
            v = load_variant(extra)
            variants[v.name] = v
        calicos = self._select(prof.get("calico", "*"), self.calico, path, f"profile {name} calico")
        vsel = self._select(prof.get("variants", "*"), variants, path, f"profile {name} variants")
        for extra in extra_variants:
            vsel.setdefault(load_variant(extra).name, variants[load_variant(extra).name])
        psel = self._select(prof.get("points", "*"), points, path, f"profile {name} points")
        soak_s = parse_duration(str(prof.get("soak", "10m")), option=f"{path}: soak")
        cells = tuple(
            Cell(calico=c, variant=v, point=p, workers=int(prof.get("workers", 1)), soak_s=soak_s,
                 pod_subnet=str(prof.get("pod_subnet", "192.168.0.0/16")))
            for c in calicos.values() for v in vsel.values() for p in psel.values()
        )
        return Profile(name=name, cells=cells, soak_s=soak_s,
                       description=str(prof.get("description", "")))

    @staticmethod
    def _select(spec: Any, known: dict[str, Any], path: Path, what: str) -> dict[str, Any]:
        patterns = [spec] if isinstance(spec, str) else list(spec)
        out: dict[str, Any] = {}
        for pat in patterns:
            hits = [k for k in known if fnmatch.fnmatchcase(k, pat)]
            if not hits:
                raise InputError(f"{what}: {pat!r} matches nothing (known: {', '.join(known)})",
                                 path=path)
            out.update({k: known[k] for k in hits})
        return out


def load_variant(path: Path) -> Variant:
    """A variant file plus its optional ``<name>.meta.toml`` sidecar.

    The variant file itself stays a real containerd document (a user's whole
    config.toml works unedited); what containerd would not understand lives in
    the sidecar.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read variant: {exc}", path=path) from exc
    from .containerd import parse_toml

    parse_toml(text, path=path)  # fail early, with the line
    name = path.name.removesuffix(".toml")
    if name == "config":  # a dropped-in /etc/containerd/config.toml: name it by its folder
        name = path.parent.name
    meta_path = path.with_name(path.name.removesuffix(".toml") + META_SUFFIX)
    meta: dict[str, Any] = load_toml(meta_path) if meta_path.exists() else {}
    for key in ("expected", "expected_probe"):
        value = meta.get(key, "")
        if value and value not in EXPECTABLE:
            raise InputError(f"{key} = {value!r} is not a verdict "
                             f"(one of: {', '.join(sorted(EXPECTABLE))})", path=meta_path)
    json6902 = meta.get("json6902", [])
    if not isinstance(json6902, list):
        raise InputError("json6902 must be an array of tables ([[json6902]])", path=meta_path)
    return Variant(
        name=name, path=path, text=text,
        description=str(meta.get("description", "")),
        expected=str(meta.get("expected", "")),
        expected_subtype=str(meta.get("expected_subtype", "")),
        expected_by_calico=dict(meta.get("expected_by_calico", {})),
        expected_probe=str(meta.get("expected_probe", "")),
        references=tuple(meta.get("references", ())),
        fix=str(meta.get("fix", "")),
        kubelet=dict(meta.get("kubelet", {})),
        json6902=tuple(json6902),
    )
