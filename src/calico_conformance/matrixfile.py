"""``matrix.json``: one run's matrix, lean and pooled (schema 2).

A 10,032-cell matrix written inline was 24 MB, most of it the same evidence, config check
and lint findings again and again. Schema 2 leaves out every field that holds its default
(the schema names each default) and stores each ``POOLED`` value once, as the HTML report
already does; cells name it by index. Schema 1 (everything inline) is still read.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from .errors import ModelError
from .model import SCHEMA_VERSION, Axes, CellResult, Matrix, Verdict
from .typedjson import build, field_types, from_dict, loads, to_dict

# Cell fields whose values repeat across cells (one host's config check, one variant's lint
# findings, a stable cell's evidence).
POOLED = ("evidence", "config_check", "findings")


def matrix_to_json(matrix: Matrix) -> str:
    """Schema 2: fields at their default are left out (the schema names each default) and
    ``POOLED`` values are stored once; a 10,032-cell matrix went from 24 MB to under 5."""
    data = to_dict(matrix, lean=True)
    # schema_version first, for humans reading the file; lean mode would drop both.
    ordered = {"schema_version": SCHEMA_VERSION, "complete": matrix.complete, **data}
    cells = ordered.pop("cells", [])
    ordered["pools"] = _pool(cells)
    # Compact: a 10,000-cell matrix is read by tools, not people (matrix.md is for them);
    # one cell a line keeps it greppable and diffable.
    head = json.dumps(ordered, separators=(",", ":"))[:-1]
    body = ",\n".join(json.dumps(c, separators=(",", ":")) for c in cells)
    return f'{head},"cells":[\n{body}\n]}}\n'


def _pool(cells: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Replace each pooled field of every cell (in place) by its index in the pool.

    Equal values share one entry: by object identity first (``to_dict`` converts one shared
    dataclass once), then by their JSON text."""
    pools: dict[str, list[Any]] = {}
    blank = CellResult("", Axes("", "", ""), "", Verdict.UNKNOWN)  # a lean cell omits these
    for name in POOLED:
        pool = pools[name] = []
        by_id: dict[int, int] = {}
        by_text: dict[str, int] = {}
        empty = to_dict(getattr(blank, name), lean=True)
        alive = [cell.get(name, empty) for cell in cells]  # ids stay unique while alive
        for cell, value in zip(cells, alive, strict=True):
            index = by_id.get(id(value))
            if index is None:
                text = json.dumps(value, separators=(",", ":"))
                index = by_text.get(text)
                if index is None:
                    index = by_text[text] = len(pool)
                    pool.append(value)
                by_id[id(value)] = index
            cell[name] = index
    return pools


def matrix_from_data(data: Any) -> Matrix:
    """A typed matrix from a parsed ``matrix.json`` of schema 1 (inline) or 2 (pooled);
    each pooled value is checked and built once, and shared by the cells that name it."""
    if not isinstance(data, dict) or "pools" not in data:
        return from_dict(Matrix, data)
    pools, cells = data["pools"], data.get("cells")
    if not isinstance(pools, dict) or not isinstance(cells, list):
        raise ModelError("pools: expected an object of arrays, beside an array of cells")
    hints = field_types(CellResult)
    built: dict[str, list[Any]] = {}
    for name in POOLED:
        pool = pools.get(name)
        if not isinstance(pool, list):
            raise ModelError(f"pools.{name}: expected an array")
        built[name] = [build(hints[name], v, f"pools.{name}[{i}]") for i, v in enumerate(pool)]
    out = []
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise ModelError(f"cells[{i}]: expected an object")
        given = {}
        for name in POOLED:
            index = cell.get(name)
            if type(index) is not int or not 0 <= index < len(built[name]):
                raise ModelError(f"cells[{i}].{name}: expected an index into pools.{name} "
                                 f"(0 to {len(built[name]) - 1}), not {str(index)[:20]!r}")
            given[name] = built[name][index]
        out.append(from_dict(CellResult, cell, f"cells[{i}]", given))
    head = from_dict(Matrix, {k: v for k, v in data.items() if k != "pools"} | {"cells": []})
    return replace(head, cells=tuple(out))


def matrix_from_json(text: str) -> Matrix:
    return matrix_from_data(loads(text))
