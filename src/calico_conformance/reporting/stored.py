"""Reading a stored run safely: it may have been edited, merged, truncated or planted.

A run folder is data, not a path to follow: its files are read where they are (no link is
followed out of it), as regular files (not a FIFO or /dev/zero) of bounded size, and every
cell must be something a run can have written (numbers in range, an id of the id grammar).
Each failure is one :class:`~..errors.InputError` naming the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..datafile import read_capped
from ..errors import InputError
from ..model import MAX_REPEAT, CellResult

LATEST = "latest"
UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._+-]")
MAX_STORED_BYTES = 512 * 1024 * 1024  # a 40,000-cell matrix.json is about 16 MB


def read_stored(path: Path) -> str:
    """A stored result: a regular file (not a FIFO or /dev/zero), UTF-8, capped."""
    data = read_capped(path, MAX_STORED_BYTES)
    if len(data) > MAX_STORED_BYTES:
        raise InputError(f"larger than {MAX_STORED_BYTES >> 20} MiB: not a stored result",
                         path=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("not UTF-8 text: binary data, not a stored result",
                         path=path) from exc


CELL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,199}")


def no_link(path: Path, run_dir: Path) -> None:
    """A stored run is read where it is: a link anywhere from the run folder down (its
    ``cells/``, a cell's folder, a file) could point at /dev/zero or another run."""
    for p in [path, *path.parents]:
        if p == run_dir:
            return
        if p.is_symlink():
            raise InputError("is a link: a run folder's files are read only in place", path=p)


def check_cell(cell: CellResult) -> str:
    """Why a stored cell cannot be what a run wrote ("" when it can): numbers in range and
    an id of the id grammar (no ``..``, no markup, no path)."""
    if not CELL_ID.fullmatch(cell.cell_id) or ".." in cell.cell_id:
        return f"cell_id {cell.cell_id[:60]!r} is not a cell id"
    if not 1 <= cell.repeat <= MAX_REPEAT:
        return f"repeat {cell.repeat} is not from 1 to {MAX_REPEAT}"
    ev = cell.evidence
    if ev.restarts < 0 or any(p.restarts_delta < 0 for p in ev.pods):
        return "a restart count is negative"
    if ev.watched_s < 0 or any(t < 0 for t in ev.restart_times_s):
        return "a time is negative"
    return ""


def resolve_run_dir(path: Path) -> Path:
    """Follow ``reports/latest[-<tier>|-<profile>]`` (a symlink or the fallback text file),
    but only to a run
    folder beside it: a link planted to point elsewhere is refused, not followed."""
    if not path.name.startswith(LATEST) or not (path.is_symlink() or path.is_file()):
        return path
    try:
        target = os.readlink(path) if path.is_symlink() else path.read_text(
            encoding="utf-8", errors="replace").strip()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=path) from exc
    if not target or "/" in target or target in (".", "..") or UNSAFE_NAME.search(target):
        raise InputError(f"points outside its reports folder ({target[:80]!r}); "
                         "name a run folder instead", path=path)
    return path.parent / target
