"""matrix.json must validate against reports/schema/matrix.schema.json, and the schema must bite."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import jsonschema
import pytest
from reporting_sample import sample_matrix, schema

from calico_conformance import model
from calico_conformance.model import matrix_from_json, matrix_to_json


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
    lambda d: d["cells"][0]["evidence"].__setitem__("restarts", "three"),
    lambda d: d["run"].__setitem__("calico_sha256", {"v3.28.2": "not-a-digest"}),
    lambda d: d.__setitem__("complete", "yes"),
    lambda d: d["cells"][0].__setitem__("surprise", 1),
], ids=["missing-axes", "repeat-zero", "restarts-not-int", "bad-sha", "complete-not-bool",
        "unknown-key"])
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
