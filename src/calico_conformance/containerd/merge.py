"""Merge containerd patches exactly the way kind does.

kind (pkg/internal/patch/toml.go, ``ContainerdTOML``) converts the base config
and every ``containerdConfigPatches`` entry to JSON and applies each as an RFC
7386 merge patch, in order. A patch whose ``version`` is set and differs from
the base's is skipped *silently*; we record the skip so it can be reported.
``containerdConfigPatchesJSON6902`` patches apply after all merge patches.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import jsonpatch
import tomli_w

from ..datafile import parse_toml, parse_yaml
from ..errors import InputError
from .config import ContainerdView, view


@dataclass(frozen=True)
class SkippedPatch:
    index: int  # 0-based position in the patch list
    patch_version: int
    base_version: int
    source: str = ""

    def describe(self) -> str:
        where = f" ({self.source})" if self.source else ""
        return (f"patch #{self.index + 1}{where} sets version = {self.patch_version} but the "
                f"node's base config is version {self.base_version}: kind skipped it silently")


@dataclass(frozen=True)
class EffectiveConfig:
    data: dict[str, Any]
    skipped: tuple[SkippedPatch, ...]

    @property
    def text(self) -> str:
        return tomli_w.dumps(self.data)

    @property
    def view(self) -> ContainerdView:
        return view(self.data)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: tables merge key by key, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _version(data: dict[str, Any], source: str = "<toml>") -> int:
    v = data.get("version", 0)
    if isinstance(v, bool) or not isinstance(v, int):
        # kind decodes version into an int and fails on anything else.
        raise InputError(f"version = {v!r} is not an integer", path=source)
    return v


def parse_json6902(text: str, *, source: str = "<json6902>") -> list[dict[str, Any]]:
    """A JSON 6902 patch given as JSON or YAML text."""
    ops = parse_yaml(text, path=source, what="JSON6902 patch")
    if not isinstance(ops, list) or not all(isinstance(o, dict) for o in ops):
        raise InputError("a JSON6902 patch must be a list of operations", path=source)
    return ops


def apply_kind_patches(
    base_text: str,
    patches: list[str],
    patches6902: list[str] | None = None,
    *,
    base_source: str = "<base>",
    patch_sources: list[str] | None = None,
    patch6902_sources: list[str] | None = None,
) -> EffectiveConfig:
    """The config a kind node will run: ``base_text`` plus kind's patches."""
    data = parse_toml(base_text, path=base_source)
    base_version = _version(data, base_source)
    if base_version == 0:
        # kind refuses this too: "failed to detect containerd config version".
        raise InputError("base config has no version line; kind cannot patch it", path=base_source)
    sources = patch_sources or [f"containerdConfigPatches[{i}]" for i in range(len(patches))]
    skipped: list[SkippedPatch] = []
    for i, text in enumerate(patches):
        patch = parse_toml(text, path=sources[i])
        pv = _version(patch, sources[i])
        if pv and pv != base_version:
            skipped.append(SkippedPatch(i, pv, base_version, sources[i]))
            continue
        data = merge_patch(data, patch)
    for j, text in enumerate(patches6902 or []):
        src = (patch6902_sources[j] if patch6902_sources and j < len(patch6902_sources)
               else f"containerdConfigPatchesJSON6902[{j}]")
        try:
            data = jsonpatch.apply_patch(data, parse_json6902(text, source=src))
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            why = str(exc).split(" in {")[0][:160]  # jsonpatch appends the whole document
            raise InputError(f"JSON6902 patch does not apply: {why}", path=src) from exc
    return EffectiveConfig(data=data, skipped=tuple(skipped))


def json6902_text(ops: list[dict[str, Any]]) -> str:
    """Serialise operations as kind expects them (JSON text)."""
    return json.dumps(ops)
