"""Merge the run directories of several shards or machines into one matrix.

Shards of one matrix (``pytest -k``, CI jobs, a second machine) each write their own
``reports/<run-id>/``. Merging reads the cell files themselves, not the rendered
``matrix.json`` (whose UNKNOWN placeholders would collide with real results).
A cell present twice must agree: a different verdict or outcome for the same cell
and repeat means two machines disagree, and silently picking one would hide it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError
from ..model import Axes, CellResult, Matrix, RunMeta
from .store import build_matrix, read_cells, read_meta, read_running, resolve_run_dir


def _union(values: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for vs in values for v in vs))


def _joined(values: Sequence[str]) -> str:
    return ", ".join(dict.fromkeys(v for v in values if v))


def merge_meta(metas: Sequence[tuple[Path, RunMeta]]) -> RunMeta:
    ms = [m for _, m in metas]
    sha: dict[str, str] = {}
    sha_from: dict[str, Path] = {}
    for path, m in metas:
        for version, digest in m.calico_sha256.items():
            if version in sha and sha[version] != digest:
                raise InputError(f"Calico {version} manifest sha256 differs from "
                                 f"{sha_from[version]}: the runs installed different manifests",
                                 path=path)
            sha.setdefault(version, digest)
            sha_from.setdefault(version, path)
    planned: dict[str, Axes] = {}
    for m in ms:
        for cid, axes in zip(m.planned_ids, m.planned_cells, strict=False):
            planned.setdefault(cid, axes)
    finished = [m.finished_at for m in ms]
    return RunMeta(
        run_id="+".join(dict.fromkeys(m.run_id for m in ms)),
        suite_version=_joined([m.suite_version for m in ms]),
        profile=_joined([m.profile for m in ms]),
        tier=_joined([m.tier for m in ms]),
        started_at=min((m.started_at for m in ms if m.started_at), default=""),
        finished_at=max(finished) if all(finished) else "",
        soak_s=max(m.soak_s for m in ms),
        probe_window_s=max(m.probe_window_s for m in ms),
        full_soak=all(m.full_soak for m in ms),
        repeat=max(m.repeat for m in ms),
        command_line=" ; ".join(dict.fromkeys(m.command_line for m in ms if m.command_line)),
        kind_versions=_union([m.kind_versions for m in ms]),
        node_images=_union([m.node_images for m in ms]),
        calico_sha256=sha,
        docker_version=_joined([m.docker_version for m in ms]),
        planned_cells=tuple(planned.values()),
        planned_ids=tuple(planned),
    )


def merge_cells(found: Sequence[tuple[Path, CellResult]]) -> list[CellResult]:
    """Deduplicate by (cell id, repeat); refuse disagreeing duplicates, naming both files."""
    seen: dict[tuple[str, int], tuple[Path, CellResult]] = {}
    for path, cell in found:
        key = (cell.cell_id, cell.repeat)
        if key in seen:
            first_path, first = seen[key]
            if (first.verdict, first.outcome) != (cell.verdict, cell.outcome):
                raise InputError(
                    f"conflicting results for {cell.cell_id} repeat {cell.repeat}: "
                    f"{first.verdict.value}/{first.outcome.value} in {first_path} vs "
                    f"{cell.verdict.value}/{cell.outcome.value}", path=path)
            continue
        seen[key] = (path, cell)
    return [c for _, c in seen.values()]


def merge_runs(run_dirs: Sequence[Path]) -> tuple[RunMeta, list[CellResult], Matrix]:
    """The merged metadata, the merged real cells, and the assembled matrix."""
    if not run_dirs:
        raise InputError("merge needs at least one run directory")
    dirs = [resolve_run_dir(d) for d in run_dirs]
    for d in dirs:
        if not d.is_dir():
            raise InputError("not a run directory", path=d)
    meta = merge_meta([(d / "run.json", read_meta(d)) for d in dirs])
    cells = merge_cells([pc for d in dirs for pc in read_cells(d)])
    running = {name for d in dirs for name in read_running(d)}  # in flight at a kill
    return meta, cells, build_matrix(meta, cells, running)
