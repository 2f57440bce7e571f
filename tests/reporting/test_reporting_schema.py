"""matrix.json must validate against reports/schema/matrix.schema.json, and the schema must bite."""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from reporting_sample import sample_matrix, schema

from calico_conformance import model
from calico_conformance.errors import ModelError
from calico_conformance.matrixfile import matrix_from_json, matrix_to_json
from calico_conformance.model import to_dict


def validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema())
    return jsonschema.Draft202012Validator(schema())


def sample_document() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(matrix_to_json(sample_matrix()))
    return data


def test_the_schema_is_itself_a_valid_draft_2020_12_schema() -> None:
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema())


def test_a_rendered_sample_matrix_validates_against_the_schema() -> None:
    errors = list(validator().iter_errors(sample_document()))
    assert errors == []


def test_the_schema_rejects_a_cell_with_an_invented_verdict() -> None:
    doc = sample_document()
    doc["cells"][0]["verdict"] = "exploded"
    assert not validator().is_valid(doc)


def test_the_schema_rejects_a_document_without_schema_version() -> None:
    doc = sample_document()
    del doc["schema_version"]
    assert not validator().is_valid(doc)


@pytest.mark.parametrize("mutate", [
    lambda d: d["cells"][0].pop("axes"),
    lambda d: d["cells"][0].__setitem__("repeat", 0),
    lambda d: d["pools"]["evidence"][0].__setitem__("restarts", "three"),
    lambda d: d["cells"][0].__setitem__("evidence", {"restarts": 3}),
    lambda d: d["run"].__setitem__("calico_sha256", {"v3.28.2": "not-a-digest"}),
    lambda d: d.__setitem__("complete", "yes"),
    lambda d: d["cells"][0].__setitem__("surprise", 1),
], ids=["missing-axes", "repeat-zero", "restarts-not-int", "evidence-inline", "bad-sha",
        "complete-not-bool", "unknown-key"])
def test_the_schema_rejects_each_kind_of_broken_document(mutate: Any) -> None:
    doc = copy.deepcopy(sample_document())
    mutate(doc)
    assert not validator().is_valid(doc)


def _props(name: str) -> set[str]:
    return set(schema()["$defs"][name]["properties"])


@pytest.mark.parametrize("cls", [model.Axes, model.Finding, model.PodRow, model.EventSummary,
                                 model.TimelinePoint, model.Evidence, model.ConfigCheck,
                                 model.CellResult, model.RunMeta])
def test_the_schema_names_exactly_the_fields_of_the_model(cls: type) -> None:
    fields = {f.name for f in dataclasses.fields(cls)}
    assert _props(cls.__name__) == fields, "model.py and matrix.schema.json have drifted apart"


def test_the_schema_enums_match_the_model_enums() -> None:
    defs = schema()["$defs"]
    assert defs["Verdict"]["enum"] == [v.value for v in model.Verdict]
    assert defs["Outcome"]["enum"] == [o.value for o in model.Outcome]
    assert defs["Tier"]["enum"] == [t.value for t in model.Tier]


def test_a_document_that_validates_round_trips_through_the_model() -> None:
    text = matrix_to_json(sample_matrix())
    assert matrix_to_json(matrix_from_json(text)) == text


def test_a_shared_value_is_stored_once_and_every_cell_names_it() -> None:
    doc = sample_document()
    cells = sample_matrix().cells
    assert len(doc["pools"]["config_check"]) == len({model.to_json(c.config_check) for c in cells})
    assert len(doc["pools"]["config_check"]) < len(cells)
    assert all(isinstance(c["evidence"], int) for c in doc["cells"])


@pytest.mark.parametrize("index", [99, -1, "0", None])
def test_a_cell_naming_a_missing_pool_entry_is_one_error_naming_the_cell(index: Any) -> None:
    doc = sample_document()
    doc["cells"][1]["evidence"] = index
    with pytest.raises(ModelError, match=r"cells\[1\]\.evidence: expected an index into "
                       r"pools\.evidence"):
        matrix_from_json(json.dumps(doc))


def test_a_schema_1_document_with_everything_inline_is_still_read() -> None:
    matrix = sample_matrix()
    v1 = {"schema_version": 1, **to_dict(dataclasses.replace(matrix, schema_version=1))}
    assert matrix_from_json(json.dumps(v1)).cells == matrix.cells


def test_ten_thousand_cells_of_json_stay_under_five_megabytes() -> None:
    """Issue 20's size goal (bench_render measures the time): 24 MB before pooling."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from bench_render import synthetic_matrix

    text = matrix_to_json(synthetic_matrix(10032))
    assert len(text.encode()) <= 5 * 1024 * 1024
    assert len(matrix_from_json(text).cells) == 10032
