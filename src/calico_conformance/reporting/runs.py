"""The reports folder as a whole: claiming a new run's folder."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError


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
