"""A value of the wrong type is a lint error with what containerd really does (issue 22).

``tests/corpus/types/`` holds one config per wrong type; each was run on the node tier
(containerd 1.6.20, 1.7.24, 2.1.9; docs/observed/config-types/matrix.md) and refused or
failed every sandbox, except ``plugins = "x"``, which containerd ignores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calico_conformance.catalog import Catalog
from calico_conformance.cells import Target
from calico_conformance.containerd import view
from calico_conformance.datafile import parse_toml
from calico_conformance.lint import lint_file, lint_target, lint_view
from calico_conformance.lint.types import (
    BOOL,
    CONFIG,
    CRI_IMAGES,
    CRI_RUNTIME,
    INT,
    RUNC_OPTIONS,
    STR,
    STRS,
    TABLE,
    TYPE_CODE,
    mistypes,
    type_of,
)
from calico_conformance.model import Finding, Verdict
from calico_conformance.variants import load_variant

CORPUS = Path(__file__).parent / "corpus" / "types"
CONFIGS = sorted(CORPUS.glob("*.toml"))
CRI = "io.containerd.grpc.v1.cri"
VERSIONS = ("1.6.20", "1.7.24", "2.1.9")


def lint(data: dict[str, Any], ctrd: str = "1.7.24") -> list[Finding]:
    return lint_view(view(data), kubelet_cgroup_driver="systemd", containerd_version=ctrd,
                     shims=None, pinned_pause=None, standalone=True)


def typed(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.code == TYPE_CODE]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_observed_wrong_type_is_one_error_predicting_that_no_pod_starts(
        path: Path, version: str) -> None:
    found = typed(lint_file(path, containerd_version=version))
    assert len(found) == 1, found
    if path.stem == "plugins-string":  # observed: containerd ignores it, runs defaults
        assert found[0].severity == "warning" and not found[0].predicted
        return
    assert found[0].severity == "error"
    assert found[0].predicted == Verdict.CLUSTER_FAILS.value
    assert found[0].line is not None or "table" in found[0].message


def test_a_quoted_true_is_named_a_string_and_never_reported_as_unset() -> None:
    data = {"version": 2, "plugins": {CRI: {"containerd": {"runtimes": {"runc": {
        "runtime_type": "io.containerd.runc.v2", "options": {"SystemdCgroup": "true"}}}}}}}
    findings = lint(data)
    assert [f.code for f in findings if f.severity == "error"] == [TYPE_CODE]
    assert "string" in findings[0].message and "every sandbox fails" in findings[0].message
    assert "SystemdCgroup = true" in findings[0].fix
    assert not any("unset" in f.message for f in findings)


def test_containerds_own_wording_follows_its_version() -> None:
    data = {"version": 2, "plugins": {CRI: {"sandbox_image": 3}}}
    assert "Can't convert 3(int64) to string" in typed(lint(data, "1.7.24"))[0].message
    assert "cannot decode TOML integer" in typed(lint(data, "2.1.9"))[0].message


def test_another_shims_options_are_not_held_to_runcs_schema() -> None:
    data = {"version": 2, "plugins": {CRI: {"containerd": {"runtimes": {"kata": {
        "runtime_type": "io.containerd.kata.v2", "options": {"SystemdCgroup": "yes"}}}}}}}
    assert not typed(lint(data))


@pytest.mark.parametrize("as_is", [True, False], ids=["whole config", "kind patch"])
def test_plan_shows_the_type_error_for_the_cell(clusters_dir: Path, as_is: bool) -> None:
    """--plan lints each cell with lint_target: as the whole config and merged over
    kind's base config alike, the wrong type is the one error."""
    kind = Catalog(clusters_dir).profile("default").cells[0].target.kind
    target = Target(load_variant(CORPUS / "sc-string.toml", as_is=as_is), kind)
    errors = [f for f in lint_target(target) if f.severity == "error"]
    assert [f.code for f in errors] == [TYPE_CODE]


# -- properties -----------------------------------------------------------------------------

VALUES = {STR: st.text(max_size=5), INT: st.integers(), BOOL: st.booleans(),
          STRS: st.lists(st.text(max_size=3), max_size=3),
          TABLE: st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=2),
          "array": st.lists(st.integers(), min_size=1, max_size=3),
          "float": st.floats(allow_nan=False)}
LEAVES: list[tuple[tuple[str, ...], str]] = [
    *(((k,), t) for k, t in CONFIG.items() if isinstance(t, str)),
    *((("plugins", CRI, k), t) for k, t in {**CRI_RUNTIME, **CRI_IMAGES}.items()
      if isinstance(t, str)),
    *((("plugins", CRI, "containerd", "runtimes", "runc", "options", k), t)
      for k, t in RUNC_OPTIONS.items() if isinstance(t, str)),
]


def _put(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"version": 2}
    cur = doc
    for key in path[:-1]:
        cur = cur.setdefault(key, {})
    cur[path[-1]] = value
    if "options" in path:
        doc["plugins"][CRI]["containerd"]["runtimes"]["runc"]["runtime_type"] = \
            "io.containerd.runc.v2"
    return doc


@settings(max_examples=300, deadline=None)
@given(leaf=st.sampled_from(LEAVES), kind=st.sampled_from(sorted(VALUES)), data=st.data())
def test_a_key_is_flagged_exactly_when_its_value_has_another_type(
        leaf: tuple[tuple[str, ...], str], kind: str, data: st.DataObject) -> None:
    path, wanted = leaf
    value = data.draw(VALUES[kind])
    flagged = [m for m in mistypes(_put(path, value)) if m.path == path]
    fits = type_of(value) == wanted or (wanted == STRS and value == [])
    assert bool(flagged) != fits, (path, value)
    if flagged:
        assert flagged[0].at_sandbox == ("options" in path)


@settings(max_examples=200, deadline=None)
@given(value=st.recursive(st.one_of(st.integers(), st.text(max_size=4), st.booleans()),
                          lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                  st.dictionaries(st.text(max_size=4), inner,
                                                                  max_size=3)), max_leaves=12),
       at=st.sampled_from([("plugins",), ("plugins", CRI), ("plugins", CRI, "containerd"),
                           ("plugins", CRI, "containerd", "runtimes"),
                           ("plugins", CRI, "registry")]))
def test_the_type_checker_never_raises_on_any_shape(value: Any, at: tuple[str, ...]) -> None:
    for ctrd in VERSIONS:
        lint(_put(at, value), ctrd)


def test_the_corpus_parses_and_is_not_empty() -> None:
    assert len(CONFIGS) >= 14
    for path in CONFIGS:
        parse_toml(path.read_text(), path=path)
