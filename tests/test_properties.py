"""Property tests: whatever a user feeds the config engine, lint or the report path,
only the suite's own errors come out (never a TypeError, RecursionError, ...).

Example counts are small so that the whole file runs in seconds; the issue's long
campaigns (about 96,000 examples on the engine and lint, 12,000 on the report path)
found the classes these properties keep closed.
"""

from __future__ import annotations

import contextlib
import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.reporting.reporting_sample import sample_cells, sample_meta

from calico_conformance.catalog import Catalog
from calico_conformance.containerd import apply_kind_patches, view
from calico_conformance.errors import ConformanceError
from calico_conformance.lint import lint_file, lint_view
from calico_conformance.model import to_dict
from calico_conformance.reporting import (
    diff_matrices,
    render_diff_markdown,
    render_diff_text,
    render_html,
    render_junit,
    render_markdown,
    render_text,
)
from calico_conformance.reporting.store import assemble, load_matrix

REPO = Path(__file__).resolve().parent.parent
KIND = Catalog(REPO / "clusters").kind["v0.24.0"]
CRI = "io.containerd.grpc.v1.cri"
FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

keys = st.sampled_from(["version", "plugins", CRI, "containerd", "runtimes", "runc",
                        "options", "SystemdCgroup", "BinaryName", "sandbox_image",
                        "default_runtime_name", "runtime_type", "registry", "mirrors",
                        "config_path", "cni", "imports", "root", "x"])
scalars = st.one_of(st.booleans(), st.integers(-3, 5), st.text(max_size=12),
                    st.floats(allow_nan=False, allow_infinity=False))
toml_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)), max_leaves=20)
documents = st.dictionaries(keys, toml_values, max_size=5)


def nested(depth: int, leaf: Any) -> Any:
    for i in range(depth):
        leaf = {"x": leaf} if i % 2 else [leaf]
    return leaf


@FAST
@given(doc=documents, depth=st.integers(0, 120), version=st.sampled_from([None, 2, 3, "two"]))
def test_the_config_engine_and_lint_raise_only_our_errors(doc: dict[str, Any], depth: int,
                                                           version: Any) -> None:
    doc = dict(doc)
    if version is not None:
        doc["version"] = version
    doc["deep"] = {"d": nested(depth, 1)} if depth % 2 else nested(depth, 1) or {"d": 1}
    try:
        text = tomli_w.dumps(doc)
    except (TypeError, ValueError, RecursionError):
        return  # not representable as TOML: nothing a user could write
    try:
        eff = apply_kind_patches(KIND.base_config_text(), [text])
        lint_view(eff.view, kubelet_cgroup_driver="systemd", containerd_version="1.7.18",
                  shims=KIND.shims, pinned_pause=None, standalone=False)
        lint_view(view(copy.deepcopy(doc)), kubelet_cgroup_driver="cgroupfs",
                  containerd_version="2.0.0", shims=None, pinned_pause="x", standalone=True)
    except ConformanceError:
        pass


@FAST
@given(text=st.one_of(
    st.text(max_size=200),
    st.integers(1, 3000).map(lambda n: "a = " + "[" * n + "]" * n),
    st.integers(1, 800).map(lambda n: "a = " + "{b = " * n + "1" + "}" * n),
    st.integers(1, 3000).map(lambda n: "kind: Cluster\nx: " + "[" * n + "]" * n)),
    suffix=st.sampled_from([".toml", ".yaml"]))
def test_lint_of_any_file_raises_only_our_errors(text: str, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        with contextlib.suppress(ConformanceError):
            lint_file(path, containerd_version="1.7.18")


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=10)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _replace(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    data[path[0]] = _replace(data[path[0]], path[1:], value)
    return data


CELLS = sample_cells()[:6]
CELL_DOCS = [to_dict(c) for c in CELLS]
META_DOC = to_dict(sample_meta(CELLS, "fuzz"))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(which=st.integers(0, len(CELL_DOCS)), pick=st.integers(0, 10_000), value=json_values,
       deep=st.integers(0, 3))
def test_every_renderer_fed_a_run_folder_with_random_type_changes_raises_only_our_errors(
        which: int, pick: int, value: Any, deep: int) -> None:
    docs = copy.deepcopy([META_DOC, *CELL_DOCS])
    paths = _paths(docs[which])
    path = paths[pick % len(paths)]
    docs[which] = _replace(docs[which], path, nested(deep * 400, value) if deep == 3 else value)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "fuzz"
        (run / "cells").mkdir(parents=True)
        try:
            (run / "run.json").write_text(json.dumps(docs[0]))
            for i, doc in enumerate(docs[1:]):
                (run / "cells" / f"c{i}.json").write_text(json.dumps(doc))
        except (TypeError, ValueError, RecursionError):
            return
        try:
            matrix = assemble(run)
            for render in (render_markdown, render_html, render_junit, render_text):
                render(matrix)
            report = diff_matrices(matrix, load_matrix(run))
            render_diff_text(report)
            render_diff_markdown(report)
        except ConformanceError:
            pass
