"""The run's ``run.json``: what it planned and with what, written before the first cell.

A run killed half-way still assembles into an honest, partial matrix because of it.
"""

from __future__ import annotations

from . import __version__
from .cells import Cell, NodeCell, ProbeCell
from .context import RunContext
from .kind.binary import KindTools
from .model import RunMeta


def run_meta(s: RunContext, kind_tools: KindTools, image_digests: dict[str, str],
             cells: list[Cell], others: list[ProbeCell | NodeCell]) -> RunMeta:
    """``others`` are the probe and node cells; probe cells get the host's containerd."""
    probes = [p for p in others if isinstance(p, ProbeCell)]
    if probes:
        from .probe import host_facts  # grpc and CRI stubs: only when probing

        containerd = host_facts(s.probe.containerd_bin).containerd_semver  # once
        probes = [ProbeCell(p.target, containerd) for p in probes]
    mine = {c.variant.name for c in s.profile.cells} - set(s.catalog.variants)
    planned: list[Cell | ProbeCell | NodeCell] = [
        *probes, *(n for n in others if isinstance(n, NodeCell)), *cells]
    return RunMeta(
        run_id=s.run.run_id, suite_version=__version__, profile=s.profile.name,
        tier=s.run.tier, started_at=s.started_at,
        soak_s=(s.kind.soak_s or s.profile.soak_s) if cells else 0.0,
        full_soak=s.kind.full_soak,
        probe_window_s=s.probe.window_s if probes else 0.0,
        repeat=s.run.repeat, command_line=s.run.command_line,
        kind_versions=tuple(sorted(set(kind_tools.versions.values()))) or tuple(
            sorted({c.point.kind.version for c in cells})),
        node_images=tuple(sorted({c.point.node_image for c in cells})),
        calico_sha256={c.calico.version: c.calico.sha256 for c in cells},
        docker_version=kind_tools.docker_version,
        planned_cells=tuple(c.axes() for c in planned),
        planned_ids=tuple(c.id for c in planned), images=dict(image_digests),
        user_variants=tuple(sorted(mine)), variant_mode=_mode(s, mine),
    )


def _mode(s: RunContext, mine: set[str]) -> str:
    """How the user's files ran: each is the node's whole config, or a kind patch."""
    if not mine:
        return ""
    variants = {c.variant.name: c.variant for c in s.profile.cells if c.variant.name in mine}
    kinds = sorted({c.point.kind.version for c in s.profile.cells})
    modes = {"as-is (the node's whole config)" if v.as_is else
             f"patch over kind {', '.join(kinds)}'s base config" for v in variants.values()}
    return "; ".join(sorted(modes))
