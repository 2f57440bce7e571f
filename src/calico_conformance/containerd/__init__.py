"""The containerd config engine: parse, canonical view, kind-style patch merge."""

from .config import ContainerdView, Runtime, view
from .merge import EffectiveConfig, SkippedPatch, apply_kind_patches, merge_patch

__all__ = [
    "ContainerdView",
    "EffectiveConfig",
    "Runtime",
    "SkippedPatch",
    "apply_kind_patches",
    "merge_patch",
    "view",
]
