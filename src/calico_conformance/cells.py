"""The matrix's declarations: releases, variants, points, cells and profiles.

A cell is a declaration, like a Cilium connectivity scenario: it knows whether it
is in the range upstream tests, what the variant expects and which config each
node will run, before anything runs. ``catalog`` builds these from ``clusters/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .containerd import EffectiveConfig, apply_kind_patches
from .containerd.merge import json6902_text
from .errors import InputError
from .model import Axes, Tier


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
        lo, hi = (minor_key(x) for x in self.kubernetes_tested)
        return lo <= minor_key(minor) <= hi


@dataclass(frozen=True)
class KindRelease:
    version: str
    containerd: str
    base_config: Path
    kubelet_cgroup_driver: str
    images: dict[str, str]
    downloads: dict[str, tuple[str, str]] = field(default_factory=dict)  # platform: (url, sha)
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
    expected: str = ""  # a KIND_VERDICTS value or "" (no expectation: just report)
    expected_by_calico: dict[str, str] = field(default_factory=dict)
    expected_probe: str = ""  # a PROBE_VERDICTS value or ""
    expected_node: dict[str, str] = field(default_factory=dict)  # node recipe -> NODE_VERDICTS
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


def minor_key(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.lstrip("v").split(".")[:2])
