"""What a test item of the suites carries: its cell, and its expectation as a mark.

Each tier's suite asks for one cell fixture; the session parametrizes it. A tier that
is not selected leaves one bare item, told apart here so it can be dropped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .errors import ExpectedBreakage
from .model import Verdict

CELL_FIXTURES = ("matrix_cell", "probe_cell", "node_cell")
_EMPTY = object()  # the param of a tier's item when that tier is not selected


def cell_param(item: pytest.Item) -> object:
    """The cell an item runs (``_EMPTY`` for an unselected tier), or None for other tests."""
    names = set(CELL_FIXTURES) & set(getattr(item, "fixturenames", ()))
    if not names:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    return params.get(names.pop(), _EMPTY)


def xdist_active(config: pytest.Config) -> bool:
    return str(getattr(config.option, "dist", "no")) != "no"


def expectation_marks(expected: str, name: str) -> list[pytest.MarkDecorator]:
    """Known-bad cells are strict xfails: they pass by breaking the expected way."""
    if not expected or expected == Verdict.STABLE.value:
        return []
    return [pytest.mark.xfail(
        strict=True, raises=ExpectedBreakage,
        reason=f"known-bad: expected {expected}. If this XPASSes, the configuration no "
               f"longer breaks this Calico version and the expectation for {name} needs "
               f"updating")]


def collects_suites(config: pytest.Config, suites: Path) -> bool:
    """Whether the run's paths take in the suites (not ``pytest tests``, the self-tests):
    only then is a missing Docker worth stopping for before collection."""
    for arg in config.args:
        path = Path(str(config.invocation_params.dir), arg.split("::", 1)[0]).resolve()
        if path == suites or suites in path.parents or path in suites.parents:
            return True
    return False
