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
from .datafile import parse_toml
from .errors import InputError
from .model import Axes, Tier
from .versions import minor_key


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
    shims: tuple[str, ...]  # runtime_type values the node image can run
    downloads: dict[str, tuple[str, str]] = field(default_factory=dict)  # platform: (url, sha)

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
    as_is: bool = False  # the node's whole config, not a patch over kind's base config
    # ``--expect``: what every tier's cell of a user's variant must give where its sidecar
    # expects nothing (a CI gate on a repository's own configs); "" when not gating.
    expect_all: str = ""

    @property
    def patches(self) -> list[str]:
        """The containerdConfigPatches kind gets: the variant's text, if it has any TOML
        (none for an as-is variant: that file is mounted over the node's config)."""
        return [self.text] if load_patch_nonempty(self.text) and not self.as_is else []

    @property
    def patches6902(self) -> list[str]:
        return [json6902_text(list(self.json6902))] if self.json6902 else []

    def expected_for(self, calico: str) -> str:
        return self.expected_by_calico.get(calico, self.expected or self.expect_all)


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


@dataclass(frozen=True, eq=False)
class Target:
    """A variant over one kind release's base config: what every tier runs.

    The effective config and the kubelet's cgroup driver are derived here, once, so
    the kind, probe and node tiers cannot disagree about either.
    """

    variant: Variant
    kind: KindRelease

    @cached_property
    def effective(self) -> EffectiveConfig:
        if self.variant.as_is:
            return EffectiveConfig(data=parse_toml(self.variant.text, path=self.variant.path),
                                   skipped=())
        return apply_kind_patches(self.kind.base_config_text(), self.variant.patches,
                                  self.variant.patches6902,
                                  base_source=str(self.kind.base_config),
                                  patch_sources=[str(self.variant.path)],
                                  patch6902_sources=[str(self.variant.path.with_name(
                                      self.variant.path.name.removesuffix(".toml")
                                      + ".meta.toml"))])

    @property
    def kubelet_cgroup_driver(self) -> str:
        """The variant's kubelet setting, else what the kind release configures."""
        return str(self.variant.kubelet.get("cgroupDriver", self.kind.kubelet_cgroup_driver))

    def skipped_by_kind(self) -> str:
        """Why kind would not apply the variant at all ("" when it does): the cell would
        test kind's own config, which is faithful to kind but no test of the variant."""
        if not self.variant.patches or not self.effective.skipped:
            return ""
        s = self.effective.skipped[0]
        return (f"kind would skip this patch (version {s.patch_version} over version "
                f"{s.base_version}): the cell ran kind's own config, not the variant")


def slug(cell_id: str, repeat: int) -> str:
    """A cell's id per repeat: the one place the ``~rN`` suffix is spelt."""
    return cell_id if repeat <= 1 else f"{cell_id}~r{repeat}"


class _Declared:
    """What every tier's cell derives from its target and its id."""

    target: Target

    @property
    def id(self) -> str:  # each tier spells its own
        raise NotImplementedError

    @property
    def variant(self) -> Variant:
        return self.target.variant

    def slug(self, repeat: int = 1) -> str:
        return slug(self.id, repeat)

    @property
    def untested_upstream(self) -> bool:
        return False


@dataclass(frozen=True, eq=False)
class Cell(_Declared):
    """A kind cell: a target with a Calico release at a Kubernetes point."""

    calico: CalicoRelease
    target: Target
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

    @property
    def effective(self) -> EffectiveConfig:
        return self.target.effective

    @property
    def kubelet_cgroup_driver(self) -> str:
        return self.target.kubelet_cgroup_driver

    def axes(self) -> Axes:
        return Axes(calico=self.calico.version, variant=self.variant.name, point=self.point.id,
                    kubernetes=self.point.kubernetes, kind=self.point.kind.version,
                    containerd=self.point.kind.containerd, node_image=self.point.node_image,
                    tier=Tier.KIND)


@dataclass(frozen=True, eq=False)
class ProbeCell(_Declared):
    """A probe cell: a target under the host's containerd (no Calico, no Kubernetes)."""

    target: Target
    containerd: str = ""  # the host's containerd version, known once host facts are read

    @property
    def id(self) -> str:
        return f"probe-{self.variant.name}-{self.target.kind.version}"

    @property
    def expected(self) -> str:
        return self.variant.expected_probe or self.variant.expect_all

    def axes(self) -> Axes:
        kind = self.target.kind.version
        return Axes(calico="-", variant=self.variant.name, point=f"probe-{kind}", kind=kind,
                    containerd=self.containerd, tier=Tier.PROBE)


@dataclass(frozen=True, eq=False)
class NodeCell(_Declared):
    """A node cell: a target inside a kind-style node built from a recipe under
    ``clusters/nodes/`` (systemd as PID 1, the recipe's containerd), with an emulated
    kubelet and no Calico."""

    target: Target
    recipe: str  # clusters/nodes/<recipe>.toml
    node_image: str = ""  # the built image's tag, once known
    containerd: str = ""  # the containerd the image installed, once known
    backend: str = "docker"  # what runs the node (node.backend.BACKENDS)
    cgroup: str = ""  # the cgroup version the node ran, once known

    @property
    def point(self) -> str:
        """The node image on its backend: ``node-bookworm``; ``node-bookworm-vm`` in a VM."""
        return f"node-{self.recipe}" + ("" if self.backend == "docker" else f"-{self.backend}")

    @property
    def id(self) -> str:
        return f"node-{self.variant.name}-{self.point.removeprefix('node-')}"

    @property
    def expected(self) -> str:
        """The sidecar's ``[expected_node]`` for this recipe on this backend's cgroup
        version (``"bookworm-v2"``), else for the recipe."""
        cgroup = self.cgroup or ("v2" if self.backend == "vm" else "v1")
        table = self.variant.expected_node
        return table.get(f"{self.recipe}-{cgroup}",
                         table.get(self.recipe, self.variant.expect_all))

    def axes(self) -> Axes:
        return Axes(calico="-", variant=self.variant.name, point=self.point,
                    kind=self.target.kind.version, containerd=self.containerd,
                    node_image=self.node_image, tier=Tier.NODE, backend=self.backend,
                    cgroup=self.cgroup)


@dataclass(frozen=True)
class Profile:
    name: str
    cells: tuple[Cell, ...]
    soak_s: float
    description: str = ""

    def targets(self) -> list[Target]:
        """Each (variant, kind release) of the profile once, by name then release."""
        found = {(c.variant.name, c.point.kind.version): c.target for c in self.cells}
        return [found[k] for k in sorted(found)]
