"""matrix.json as plain, complete data for assertions.

The file itself is lean (defaults left out, shared values pooled: model.matrix_to_json);
tests read it through the model's own reader, so ``cell["evidence"]["notes"]`` means what
it says whatever the schema version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from calico_conformance.matrixfile import matrix_from_json
from calico_conformance.model import to_dict


def read_matrix(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = to_dict(matrix_from_json(path.read_text(encoding="utf-8")))
    return data
