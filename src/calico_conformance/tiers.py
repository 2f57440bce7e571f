"""The tier registry: each tier's cells, fixture, cost, availability and entry, in one place.

Like pytest-xdist's schedulers chosen in one hook: the session parametrizes, orders and
balances cells, and the runner runs them, by looking a cell's tier up here. Registry
order is run order (probe cells first, so ``--tier all`` can predict kind cells from
them). A tier's package is imported only when one of its cells runs (the probe and node
tiers pull in grpc and the CRI stubs). A new tier is its package, an entry in
:data:`TIERS`, a settings group and a test file in ``suites/``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from . import kind, runrecord
from .calico import fetch_manifest, load_documents
from .cells import Cell, NodeCell, ProbeCell
from .context import Hooks, RunContext, RunState
from .errors import ConformanceError, InputError
from .lint import lint_cell, lint_node
from .model import CellResult, Outcome, cell_from_json
from .parallel import kind_seconds, node_seconds, probe_seconds
from .reporting.describe import render_describe
from .reporting.store import CELLS_DIR, cell_filename
from .results import build_result
from .verdict import predicted_from_probe
from .versions import parse_version

if TYPE_CHECKING:  # the node package (grpc, CRI stubs) only when a node cell runs
    from .node.backend import Backend

AnyCell = Cell | ProbeCell | NodeCell


@dataclass(frozen=True)
class Tier:
    name: str
    cell_type: type
    fixture: str  # the suites' fixture that the session parametrizes with this tier's cells
    cells: Callable[[RunContext], list[Any]]
    expected_s: Callable[[Any, RunContext], float]
    unavailable: Callable[[RunContext, Any], str | None]
    run: Callable[[RunContext, RunState, Hooks, Any, int], CellResult]
    slotted: bool = False  # holds a --max-clusters slot while it runs
    announce: bool = True  # the runner says when it starts and what it found


# --- probe -------------------------------------------------------------------------------------

def _probe_unavailable(ctx: RunContext, cell: ProbeCell) -> str | None:
    from .probe import probe_available

    return probe_available(ctx.probe)


def _probe_run(ctx: RunContext, state: RunState, hooks: Hooks, cell: ProbeCell,
               repeat: int) -> CellResult:
    from .probe import run_cell

    hooks.say(f"{cell.slug(repeat)}: probing under containerd (window "
              f"{ctx.probe.window_s:.0f}s)")
    result = run_cell(cell, ctx.probe, repeat, record=ctx.run.record)
    state.probe_results[(cell.variant.name, cell.target.kind.version)] = result
    return result


# --- node --------------------------------------------------------------------------------------

def node_cells(ctx: RunContext) -> list[NodeCell]:
    from .node.recipes import node_cells as cells_of

    variants = list({c.variant.name: c.variant for c in ctx.profile.cells}.values())
    return cells_of(ctx.catalog, variants, ctx.node.images, ctx.node.backends)


def _node_of(ctx: RunContext, cell: NodeCell) -> tuple[Backend, str]:
    """The cell's backend and node image tag (the cell carries the tag its recipe builds)."""
    from .node import backend
    from .node.recipes import load_recipes

    tag = cell.node_image or load_recipes(ctx.catalog.root)[cell.recipe].tag
    return backend(cell.backend, ctx.node.docker_bin if cell.backend == "docker" else None), tag


def _node_unavailable(ctx: RunContext, cell: NodeCell) -> str | None:
    nodes, tag = _node_of(ctx, cell)
    return nodes.unavailable() or nodes.image_missing(tag, cell.recipe)


def node_pod_template(ctx: RunContext, state: RunState) -> Any:
    """calico-node's exec probes from the profile's newest Calico manifest (once a run)."""
    from .node import PodTemplate
    from .node.prober import probe_specs

    if "node.pod" not in state.cache:
        release = max((c.calico for c in ctx.profile.cells),
                      key=lambda r: parse_version(r.version) or (0, 0, 0))
        try:
            docs = load_documents(fetch_manifest(release, ctx.kind.cache_dir,
                                                 ctx.kind.manifest_dir))
            specs, grace = probe_specs(docs)
            state.cache["node.pod"] = PodTemplate(tuple(specs), grace,
                                                  f"Calico {release.version} manifest")
        except ConformanceError as exc:
            state.notes.append(f"node tier: no exec probes ({exc})")
            state.cache["node.pod"] = PodTemplate(source=f"no Calico manifest ({exc})")
    return state.cache["node.pod"]


def _node_pool(state: RunState) -> Any:
    """This process's reused nodes (:mod:`.node.pool`), torn down when the run ends."""
    from .node.pool import NodePool

    if "node.pool" not in state.cache:
        pool = state.cache["node.pool"] = NodePool()
        state.closers.append(pool.close)
    return state.cache["node.pool"]


def _node_run(ctx: RunContext, state: RunState, hooks: Hooks, cell: NodeCell,
              repeat: int) -> CellResult:
    from .node import run_cell
    from .node.parity import cached

    nodes, tag = _node_of(ctx, cell)
    pod = node_pod_template(ctx, state)
    window = ctx.node.window_for(cell.backend)
    hooks.say(f"{cell.slug(repeat)}: in a {cell.recipe} node on {cell.backend} (window "
              f"{window:.0f}s)")
    logs = ctx.run.run_dir / "node" / cell.slug(repeat) / "logs"
    result = run_cell(cell, nodes, tag, ctx.node, parity=cached(ctx.catalog.root),
                      run_id=ctx.run.run_id,
                      clock=ctx.clock, pod=pod, repeat=repeat, keep_logs_dir=logs,
                      record=ctx.run.record, pool=_node_pool(state))
    result = replace(result, findings=lint_node(cell.target, result.axes.containerd))
    described = render_describe(result)  # what `kubectl describe pod` would show: analyze it
    if described:
        logs.mkdir(parents=True, exist_ok=True)
        (logs / "describe.txt").write_text(described)
    return result


# --- kind --------------------------------------------------------------------------------------

def _earlier_probe(ctx: RunContext, state: RunState, cell: Cell) -> CellResult | None:
    """This target's probe result: from this process, else (another xdist worker probed
    it) from its cell file, if it is there yet."""
    found = state.probe_results.get((cell.variant.name, cell.point.kind.version))
    if found is not None:
        return found
    path = ctx.run.run_dir / CELLS_DIR / cell_filename(ProbeCell(cell.target).id, 1)
    try:
        return cell_from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _kind_run(ctx: RunContext, state: RunState, hooks: Hooks, cell: Cell,
              repeat: int) -> CellResult:
    findings = lint_cell(cell)
    probe = _earlier_probe(ctx, state, cell)
    predicted = predicted_from_probe(probe) if probe is not None else None
    if predicted is not None:  # containerd decided before any pod: no cluster spent
        verdict, subtype, evidence = predicted
        return build_result(cell, verdict, subtype=subtype, evidence=evidence,
                            findings=findings, repeat=repeat, outcome=Outcome.PREDICTED)
    kind_bin = (state.kind_tools.bins.get(cell.point.kind.version) or ctx.kind.kind_bin
                or "kind")
    cell_dir = ctx.run.run_dir / "cells" / cell.slug(repeat)
    name = kind.cluster_name(ctx.run.run_id, cell, repeat)
    runrecord.append(ctx.run.record, "cluster", kind_bin=kind_bin, name=name,
                     kubeconfig=str(cell_dir / "kubeconfig"))
    result, kept = kind.run_cell(cell, kind_bin=kind_bin, run_id=ctx.run.run_id,
                                 cell_dir=cell_dir, settings=ctx.kind, clock=ctx.clock,
                                 repeat=repeat, progress=hooks.progress(cell.id))
    if kept:
        state.kept.append((name, kept))
    return replace(result, findings=findings)


TIERS: tuple[Tier, ...] = (
    Tier("probe", ProbeCell, "probe_cell",
         cells=lambda ctx: [ProbeCell(t) for t in ctx.profile.targets()],
         expected_s=lambda cell, ctx: probe_seconds(ctx.probe.window_s),
         unavailable=_probe_unavailable, run=_probe_run),
    Tier("node", NodeCell, "node_cell", cells=node_cells,
         expected_s=lambda cell, ctx: node_seconds(ctx.node, cell.backend),
         unavailable=_node_unavailable, run=_node_run, slotted=True),
    Tier("kind", Cell, "matrix_cell", cells=lambda ctx: list(ctx.profile.cells),
         expected_s=lambda cell, ctx: kind_seconds(cell, ctx.kind),
         unavailable=lambda ctx, cell: None, run=_kind_run, slotted=True, announce=False),
)
FIXTURES = tuple(t.fixture for t in TIERS)


def tier_of(cell: object) -> Tier:
    for tier in TIERS:
        if type(cell) is tier.cell_type:
            return tier
    raise InputError(f"not a cell of any tier: {cell!r}")


def order(cell: object) -> int:
    """A cell's place in run order (anything that is not a cell goes last)."""
    return next((i for i, t in enumerate(TIERS) if type(cell) is t.cell_type), len(TIERS))
