"""The run store: ``reports/<run-id>/`` with ``run.json`` and one file per cell.

A cell file is written atomically the moment the cell finishes, so a run killed
mid-matrix (Ctrl-C, OOM, a CI timeout) still leaves every finished cell readable;
:func:`assemble` turns whatever is there into a valid, explicitly incomplete
:class:`Matrix` whose missing cells are UNKNOWN rather than silently absent.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError, ModelError
from ..matrixfile import matrix_from_data, matrix_to_json
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
    loads,
    to_json,
)
from .facts import INTERRUPTED, NO_RESULT
from .html import render_html
from .junit import render_junit
from .markdown import render_markdown
from .stored import LATEST as LATEST
from .stored import UNSAFE_NAME, check_cell, no_link, read_stored
from .stored import resolve_run_dir as resolve_run_dir

RUN_FILE = "run.json"
CELLS_DIR = "cells"
RUNNING_DIR = "running"  # one marker per cell in flight; removed when its result is written


def ensure_dir(path: Path, what: str = "output directory") -> Path:
    """``mkdir -p`` whose failure (a regular file in the way, no permission) is one line."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise InputError(f"{what}: exists and is not a directory", path=path) from exc
    except OSError as exc:
        raise InputError(f"{what}: cannot create: {exc.strerror}", path=path) from exc
    return path


def atomic_write(path: Path, text: str, mode: int = 0o644) -> Path:
    """Write via a temp file in the same directory and ``os.replace``: never half a file,
    and no temp file left behind whatever interrupts it (Ctrl-C, SIGTERM, a full disk)."""
    ensure_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with open(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(f"cannot write: {exc.strerror}", path=path) from exc
        raise
    return path


def cell_filename(cell_id: str, repeat: int = 1) -> str:
    safe = UNSAFE_NAME.sub("_", cell_id).lstrip(".") or "_"
    return f"{safe}.json" if repeat <= 1 else f"{safe}~r{repeat}.json"


def read_meta(run_dir: Path) -> RunMeta:
    path = run_dir / RUN_FILE
    no_link(path, run_dir)
    if not path.is_file():
        raise InputError(f"not a run directory (no {RUN_FILE})", path=run_dir)
    try:
        return from_dict(RunMeta, loads(read_stored(path)))
    except ModelError as exc:
        raise InputError(f"not a valid {RUN_FILE}: {exc.message}", path=path) from exc


def read_cells(run_dir: Path) -> list[tuple[Path, CellResult]]:
    """Every finished cell file of a run, by file name (half-written temp files ignored)."""
    out = []
    no_link(run_dir / CELLS_DIR, run_dir)
    for path in sorted((run_dir / CELLS_DIR).glob("*.json")):
        no_link(path, run_dir)
        try:
            cell = cell_from_json(read_stored(path))
        except ModelError as exc:
            raise InputError(f"not a valid cell result: {exc.message}", path=path) from exc
        wrong = check_cell(cell)
        if wrong:
            raise InputError(f"not a valid cell result: {wrong}", path=path)
        out.append((path, cell))
    return out


def placeholder(cell_id: str, axes: Axes, repeat: int = 1,
                interrupted: bool = False) -> CellResult:
    """A planned cell without a result: never started, or running when the run stopped."""
    return CellResult(cell_id=cell_id, axes=axes, expected="", verdict=Verdict.UNKNOWN,
                      subtype="interrupted" if interrupted else "no-result",
                      outcome=Outcome.UNKNOWN, repeat=repeat,
                      evidence=Evidence(notes=(INTERRUPTED if interrupted else NO_RESULT,)))


def read_running(run_dir: Path) -> set[str]:
    """Cell files (by name) whose cell started and never finished."""
    folder = run_dir / RUNNING_DIR
    return {p.name for p in folder.iterdir()} if folder.is_dir() else set()


def build_matrix(meta: RunMeta, cells: Iterable[CellResult],
                 running: set[str] | None = None) -> Matrix:
    """Planned order first, then unplanned extras; missing planned repeats become UNKNOWN
    (``interrupted`` when their marker in ``running/`` says they were in flight)."""
    running = running or set()
    by_key = {(c.cell_id, c.repeat): c for c in cells}
    planned = dict(zip(meta.planned_ids, meta.planned_cells, strict=False))
    order = {cid: i for i, cid in enumerate(meta.planned_ids)}
    complete = True
    for cid, axes in planned.items():
        for r in range(1, max(meta.repeat, 1) + 1):
            if (cid, r) not in by_key:
                by_key[(cid, r)] = placeholder(cid, axes, r,
                                               cell_filename(cid, r) in running)
                complete = False
    ordered = sorted(by_key.values(),
                     key=lambda c: (order.get(c.cell_id, len(order)), c.cell_id, c.repeat))
    return Matrix(run=meta, cells=tuple(ordered), complete=complete)


def assemble(run_dir: Path) -> Matrix:
    """The matrix of a run directory, from ``run.json`` and whatever cells finished."""
    run_dir = resolve_run_dir(run_dir)
    return build_matrix(read_meta(run_dir), (c for _, c in read_cells(run_dir)),
                        read_running(run_dir))


def load_matrix(path: Path) -> Matrix:
    """A ``matrix.json`` file, or a run directory (re-assembled from its cell files)."""
    path = resolve_run_dir(path)
    if path.is_dir():
        return assemble(path)
    if not path.exists():
        raise InputError("no such file or directory", path=path)
    try:
        data = loads(read_stored(path))
        if not isinstance(data, dict) or "run" not in data or "cells" not in data:
            raise ModelError("expected a matrix document with 'run' and 'cells'")
        version = data.get("schema_version", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            raise ModelError("schema_version: expected an integer")
        if version > SCHEMA_VERSION:
            raise ModelError(f"schema_version {version} is newer than this "
                             f"tool understands ({SCHEMA_VERSION})")
        matrix = matrix_from_data(data)
        wrong = next((f"cells[{i}]: {w}" for i, c in enumerate(matrix.cells)
                      if (w := check_cell(c))), "")
        if wrong:
            raise ModelError(wrong)
        return matrix
    except ModelError as exc:
        raise InputError(f"not a valid matrix.json: {exc.message}", path=path) from exc


def write_all(matrix: Matrix, out_dir: Path) -> dict[str, Path]:
    """Render every format of ``matrix`` into ``out_dir``; returns format → path.

    Everything is rendered before anything is written, so a renderer that fails
    leaves no half-rendered folder behind.
    """
    texts = {"json": ("matrix.json", matrix_to_json(matrix)),
             "markdown": ("matrix.md", render_markdown(matrix)),
             "html": ("matrix.html", render_html(matrix)),
             "junit": ("junit.xml", render_junit(matrix))}
    ensure_dir(out_dir)
    return {fmt: atomic_write(out_dir / name, text) for fmt, (name, text) in texts.items()}


def latest_names(meta: RunMeta) -> list[str]:
    """``latest``, and one per tier and per profile (``latest-node``, ``latest-smoke``), so a
    node run does not move the link a kind matrix is read from."""
    names = [LATEST, f"{LATEST}-{meta.tier}"]
    if meta.profile not in ("default",) and not meta.profile.startswith("repro-"):
        names.append(f"{LATEST}-{meta.profile}")
    return [n for n in dict.fromkeys(names) if not UNSAFE_NAME.search(n)]


def update_latest(reports_root: Path, run_dir: Path, name: str = LATEST) -> Path:
    """Point ``reports/<name>`` at ``run_dir``; a text file holding the id where symlinks
    fail."""
    link = reports_root / name
    tmp = reports_root / f".{name}.tmp-{os.getpid()}"
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


class RunStore:
    """Writes one run's files as the run goes; see the module docstring."""

    def __init__(self, run_dir: Path, meta: RunMeta) -> None:
        self.run_dir = run_dir
        self.meta = meta

    @classmethod
    def create(cls, reports_root: Path, meta: RunMeta) -> RunStore:
        """The run folder appears whole (``run.json`` and ``cells/``) or not at all: it is
        built under a hidden name and renamed, so an interrupt never leaves a folder
        that ``report`` cannot read."""
        if not meta.run_id or UNSAFE_NAME.search(meta.run_id) or meta.run_id.startswith("."):
            raise InputError(f"run id {meta.run_id!r} is not usable as a directory name")
        run_dir = reports_root / meta.run_id
        if (run_dir / RUN_FILE).exists() or run_dir.is_symlink():
            raise InputError("a run with this id already exists", path=run_dir)
        ensure_dir(reports_root, "reports directory")
        if run_dir.is_dir():  # e.g. a plan's folder: fill it in place, run.json last
            ensure_dir(run_dir / CELLS_DIR)
            atomic_write(run_dir / RUN_FILE, to_json(meta))
            return cls(run_dir, meta)
        tmp = reports_root / f".{meta.run_id}.tmp-{os.getpid()}"
        try:
            ensure_dir(tmp / CELLS_DIR)
            atomic_write(tmp / RUN_FILE, to_json(meta))
            os.rename(tmp, run_dir)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if isinstance(exc, OSError):
                raise InputError(f"cannot create the run folder: {exc.strerror}",
                                 path=run_dir) from exc
            raise
        return cls(run_dir, meta)

    @classmethod
    def open(cls, run_dir: Path) -> RunStore:
        return cls(run_dir, read_meta(run_dir))

    @property
    def reports_root(self) -> Path:
        return self.run_dir.parent

    def mark_running(self, cell_id: str, repeat: int, started_at: str) -> None:
        """Say a cell is in flight, so a kill shows it as interrupted, not as never run."""
        atomic_write(self.run_dir / RUNNING_DIR / cell_filename(cell_id, repeat),
                     started_at + "\n")

    def write_cell(self, result: CellResult) -> Path:
        name = cell_filename(result.cell_id, result.repeat)
        path = atomic_write(self.run_dir / CELLS_DIR / name, to_json(result))
        (self.run_dir / RUNNING_DIR / name).unlink(missing_ok=True)
        return path

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
            for name in latest_names(self.meta):
                update_latest(self.reports_root, self.run_dir, name)
        return matrix
