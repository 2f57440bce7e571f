"""Preflight lint: predict what a containerd config does to calico-node, with no cluster.

The same rules judge a matrix cell (kind's base config plus the variant's patches), a
user's whole ``/etc/containerd/config.toml``, a patch meant for kind, or the
``containerdConfigPatches`` of a kind Cluster config. ``engine`` runs them; rules live
by topic (cgroups, runtimes, version, registry, images, paths); ``provenance`` says
whether a prediction was observed; ``cli`` is the subcommand.
"""

from .cli import format_json, format_text, register
from .engine import (
    RULES,
    lint_cell,
    lint_cluster_config,
    lint_file,
    lint_node,
    lint_target,
    lint_view,
    run_rules,
)

__all__ = ["RULES", "format_json", "format_text", "lint_cell", "lint_cluster_config", "lint_file",
           "lint_node", "lint_target", "lint_view", "register", "run_rules"]
