"""Golden-file comparison with an update switch (pytest --update-goldens)."""

from __future__ import annotations

from pathlib import Path

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"


def check_golden(name: str, actual: str, update: bool) -> None:
    path = GOLDEN_DIR / name
    if update or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        if not update:
            raise AssertionError(f"golden {path} did not exist; wrote it — review and re-run")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"output differs from golden {path}; run `pytest tests --update-goldens` if intended"
    )
