"""Property tests for the analyze parsers: whatever comes in, only our own errors come out.

Inputs are random bytes, random text, fixture lines shuffled, cut and re-indented, and
pod/event JSON with random values in every field; each goes all the way through the
verdict engine and the renderers.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calico_conformance.analyze.engine import analyze
from calico_conformance.analyze.report import Context, build, render_json, render_text
from calico_conformance.analyze.sniff import parse_input
from calico_conformance.errors import ConformanceError

FIXTURES = Path(__file__).parent / "fixtures"
LINES = sorted({line for p in FIXTURES.glob("*.txt") for line in p.read_text().splitlines()})
SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
CTX = Context([], [])


def pipeline(data: bytes) -> None:
    parsed = parse_input("-", io.BytesIO(data))
    result = analyze(parsed)
    doc = build(result, parsed, CTX)
    render_text(doc, result)
    json.loads(render_json(doc))


def run(data: bytes, through: Callable[[bytes], None] = pipeline) -> None:
    """The whole path; our errors are fine, anything else fails the property."""
    with contextlib.suppress(ConformanceError):
        through(data)


@SETTINGS
@given(st.binary(max_size=2000))
def test_random_bytes_raise_only_our_errors(data: bytes) -> None:
    run(data)


@SETTINGS
@given(st.text(max_size=2000))
def test_random_text_raises_only_our_errors(text: str) -> None:
    run(text.encode("utf-8", "replace"))


indent = st.sampled_from(["", " ", "  ", "    ", "      ", "\t"])
mangle = st.sampled_from(["keep", "cut", "strip", "digits", "upper"])


@st.composite
def kubectl_lines(draw: st.DrawFn) -> str:
    out = []
    for line in draw(st.lists(st.sampled_from(LINES), max_size=60)):
        how = draw(mangle)
        if how == "cut":
            line = line[:draw(st.integers(0, max(len(line), 0)))]
        elif how == "strip":
            line = draw(indent) + line.strip()
        elif how == "digits":
            line = line.replace("0", str(draw(st.integers(-10**12, 10**12))))
        elif how == "upper":
            line = line.upper()
        out.append(line)
    return "\n".join(out)


@SETTINGS
@given(kubectl_lines())
def test_shuffled_cut_and_reindented_kubectl_text_raises_only_our_errors(text: str) -> None:
    run(text.encode())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20)
POD_KEYS = ["metadata", "spec", "status", "name", "labels", "k8s-app", "containerStatuses",
            "initContainerStatuses", "restartCount", "state", "lastState", "terminated",
            "running", "waiting", "exitCode", "reason", "ready", "startTime", "involvedObject",
            "count", "message", "items", "kind", "firstTimestamp", "lastTimestamp"]


@st.composite
def pod_like(draw: st.DrawFn) -> Any:
    """A pod, event or list whose every field may hold a random value."""
    def node(depth: int) -> Any:
        if depth > 4 or draw(st.integers(0, 3)) == 0:
            return draw(json_values)
        keys = draw(st.lists(st.sampled_from(POD_KEYS), max_size=6, unique=True))
        obj: dict[str, Any] = {k: node(depth + 1) for k in keys}
        if draw(st.booleans()):
            obj["kind"] = draw(st.sampled_from(["Pod", "Event", "List", "PodList", "EventList"]))
        if "containerStatuses" in obj and draw(st.booleans()):
            obj["containerStatuses"] = [node(depth + 1) for _ in range(draw(st.integers(0, 2)))]
        if "items" in obj and draw(st.booleans()):
            obj["items"] = [node(depth + 1) for _ in range(draw(st.integers(0, 2)))]
        return obj
    return node(0)


@SETTINGS
@given(pod_like(), st.sampled_from(["json", "jsonl", "yaml"]))
def test_pod_and_event_objects_with_random_values_raise_only_our_errors(
        obj: Any, form: str) -> None:
    import yaml

    if form == "json":
        data = json.dumps(obj)
    elif form == "jsonl":
        data = json.dumps({"t": 1.0, "source": "pod", **obj} if isinstance(obj, dict) else obj)
    else:
        data = yaml.safe_dump(obj)
    run(data.encode())


def test_the_property_harness_can_fail() -> None:
    """Only ConformanceError is swallowed: any other exception fails the property."""
    import pytest

    def buggy(data: bytes) -> None:
        pipeline(data)
        raise IndexError("a parser bug")

    with pytest.raises(IndexError):
        run((FIXTURES / "get-pods-crashloop.txt").read_bytes(), buggy)
