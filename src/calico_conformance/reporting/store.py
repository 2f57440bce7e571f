"""The run store: ``reports/<run-id>/`` with ``run.json`` and one file per cell.

A cell file is written atomically the moment the cell finishes, so a run killed
mid-matrix (Ctrl-C, OOM, a CI timeout) still leaves every finished cell readable;
:func:`assemble` turns whatever is there into a valid, explicitly incomplete
:class:`Matrix` whose missing cells are UNKNOWN rather than silently absent.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError
from ..model import (
    SCHEMA_VERSION,
    Axes,
    CellResult,
    Evidence,
    Matrix,
    Outcome,
    RunMeta,
    Verdict,
    cell_from_json,
    from_dict,
    matrix_from_json,
    matrix_to_json,
    to_json,
)
from .facts import NO_RESULT
from .html import render_html
from .junit import render_junit
from .markdown import render_markdown

RUN_FILE = "run.json"
CELLS_DIR = "cells"
LATEST = "latest"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]")


def atomic_write(path: Path, text: str) -> Path:
    """Write via a temp file in the same directory and ``os.replace``: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def cell_filename(cell_id: str, repeat: int = 1) -> str:
    safe = _UNSAFE.sub("_", cell_id).lstrip(".") or "_"
    return f"{safe}.json" if repeat <= 1 else f"{safe}~r{repeat}.json"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from exc


def read_meta(run_dir: Path) -> RunMeta:
    path = run_dir / RUN_FILE
    if not path.is_file():
        raise InputError(f"not a run directory (no {RUN_FILE})", path=run_dir)
    try:
        return from_dict(RunMeta, json.loads(_read(path)))
    except (ValueError, TypeError, AttributeError) as exc:
        raise InputError(f"not a valid {RUN_FILE}: {exc}", path=path) from exc


def read_cells(run_dir: Path) -> list[tuple[Path, CellResult]]:
    """Every finished cell file of a run, by file name (half-written temp files ignored)."""
    out = []
    for path in sorted((run_dir / CELLS_DIR).glob("*.json")):
        try:
            out.append((path, cell_from_json(_read(path))))
        except (ValueError, TypeError, AttributeError) as exc:
            raise InputError(f"not a valid cell result: {exc}", path=path) from exc
    return out


def placeholder(cell_id: str, axes: Axes, repeat: int = 1) -> CellResult:
    return CellResult(cell_id=cell_id, axes=axes, expected="", verdict=Verdict.UNKNOWN,
                      subtype="no-result", outcome=Outcome.UNKNOWN, repeat=repeat,
                      evidence=Evidence(notes=(NO_RESULT,)))


def build_matrix(meta: RunMeta, cells: Iterable[CellResult]) -> Matrix:
    """Planned order first, then unplanned extras; missing planned repeats become UNKNOWN."""
    by_key = {(c.cell_id, c.repeat): c for c in cells}
    planned = dict(zip(meta.planned_ids, meta.planned_cells, strict=False))
    order = {cid: i for i, cid in enumerate(meta.planned_ids)}
    complete = True
    for cid, axes in planned.items():
        for r in range(1, max(meta.repeat, 1) + 1):
            if (cid, r) not in by_key:
                by_key[(cid, r)] = placeholder(cid, axes, r)
                complete = False
    ordered = sorted(by_key.values(),
                     key=lambda c: (order.get(c.cell_id, len(order)), c.cell_id, c.repeat))
    return Matrix(run=meta, cells=tuple(ordered), complete=complete)


def assemble(run_dir: Path) -> Matrix:
    """The matrix of a run directory, from ``run.json`` and whatever cells finished."""
    run_dir = resolve_run_dir(run_dir)
    return build_matrix(read_meta(run_dir), (c for _, c in read_cells(run_dir)))


def resolve_run_dir(path: Path) -> Path:
    """Follow ``reports/latest`` whether it is a symlink or the fallback text file."""
    if path.is_file() and path.name == LATEST:
        return path.parent / path.read_text(encoding="utf-8").strip()
    return path


def load_matrix(path: Path) -> Matrix:
    """A ``matrix.json`` file, or a run directory (re-assembled from its cell files)."""
    path = resolve_run_dir(path)
    if path.is_dir():
        return assemble(path)
    if not path.exists():
        raise InputError("no such file or directory", path=path)
    try:
        data = json.loads(_read(path))
        if not isinstance(data, dict) or "run" not in data or "cells" not in data:
            raise ValueError("expected a matrix document with 'run' and 'cells'")
        if int(data.get("schema_version", 0)) > SCHEMA_VERSION:
            raise ValueError(f"schema_version {data['schema_version']} is newer than this "
                             f"tool understands ({SCHEMA_VERSION})")
        return matrix_from_json(json.dumps(data))
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise InputError(f"not a valid matrix.json: {exc}", path=path) from exc


def write_all(matrix: Matrix, out_dir: Path) -> dict[str, Path]:
    """Render every format of ``matrix`` into ``out_dir``; returns format → path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return {
        "json": atomic_write(out_dir / "matrix.json", matrix_to_json(matrix)),
        "markdown": atomic_write(out_dir / "matrix.md", render_markdown(matrix)),
        "html": atomic_write(out_dir / "matrix.html", render_html(matrix)),
        "junit": atomic_write(out_dir / "junit.xml", render_junit(matrix)),
    }


def update_latest(reports_root: Path, run_dir: Path) -> Path:
    """Point ``reports/latest`` at ``run_dir``; a text file holding the id where symlinks fail."""
    link = reports_root / LATEST
    tmp = reports_root / f".{LATEST}.tmp-{os.getpid()}"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(run_dir.name, tmp, target_is_directory=True)
        os.replace(tmp, link)
    except OSError as exc:
        if link.is_dir() and not link.is_symlink():
            raise InputError("is a directory; cannot point it at the newest run",
                             path=link) from exc
        atomic_write(link, run_dir.name + "\n")
    return link


def claim_run_dir(reports_root: Path, run_id: str, *, chosen: bool) -> str:
    """Create ``reports/<run id>/`` atomically and return the id it got. An id the user
    chose must be new; a default id (the start time) gets ``-2``, ``-3``, ... so two runs
    started in the same second never share a folder."""
    try:
        reports_root.mkdir(parents=True, exist_ok=True)
        for n in range(1, 1000):
            candidate = run_id if n == 1 else f"{run_id}-{n}"
            try:
                (reports_root / candidate).mkdir()
                return candidate
            except FileExistsError:
                if chosen:
                    raise InputError("a run with this id already exists; choose another "
                                     "--run-id", path=reports_root / run_id) from None
    except (NotADirectoryError, FileExistsError, PermissionError) as exc:
        raise InputError(f"cannot make run folders here: {exc.strerror}",
                         path=reports_root) from exc
    raise InputError("999 runs with this id exist; choose a --run-id", path=reports_root)


class RunStore:
    """Writes one run's files as the run goes; see the module docstring."""

    def __init__(self, run_dir: Path, meta: RunMeta) -> None:
        self.run_dir = run_dir
        self.meta = meta

    @classmethod
    def create(cls, reports_root: Path, meta: RunMeta) -> RunStore:
        if not meta.run_id or _UNSAFE.search(meta.run_id) or meta.run_id.startswith("."):
            raise InputError(f"run id {meta.run_id!r} is not usable as a directory name")
        run_dir = reports_root / meta.run_id
        if (run_dir / RUN_FILE).exists():
            raise InputError("a run with this id already exists", path=run_dir)
        (run_dir / CELLS_DIR).mkdir(parents=True, exist_ok=True)
        atomic_write(run_dir / RUN_FILE, to_json(meta))
        return cls(run_dir, meta)

    @classmethod
    def open(cls, run_dir: Path) -> RunStore:
        return cls(run_dir, read_meta(run_dir))

    @property
    def reports_root(self) -> Path:
        return self.run_dir.parent

    def write_cell(self, result: CellResult) -> Path:
        path = self.run_dir / CELLS_DIR / cell_filename(result.cell_id, result.repeat)
        return atomic_write(path, to_json(result))

    def assemble(self) -> Matrix:
        return assemble(self.run_dir)

    def finish(self, finished_at: str) -> Matrix:
        """Stamp the end time, render every format and, when every planned cell finished,
        point ``latest`` here: ``latest`` is the newest complete run."""
        self.meta = dataclasses.replace(self.meta, finished_at=finished_at)
        atomic_write(self.run_dir / RUN_FILE, to_json(self.meta))
        matrix = self.assemble()
        write_all(matrix, self.run_dir)
        if matrix.complete:
            update_latest(self.reports_root, self.run_dir)
        return matrix
