"""``junit.xml``: one testcase per cell (and per repeat) for CI dashboards.

Mapping, decided once:

* FAIL and XPASS are ``<failure>`` (XPASS means a stale expectation: someone must
  look), with the evidence as the body.
* UNKNOWN is ``<skipped>``: it is our infrastructure failing (kind, Docker, a
  timeout), not a property of the containerd configuration, so it must not turn
  a configuration red; the message says so and the run's summary still counts it.
* PREDICTED is ``<skipped>`` too: it never ran on kind; so is NOT_TESTED: it could not
  exercise what the variant is about.
* A planned cell without a result (the run stopped before it, or while it ran) is an
  ``<error>``: an incomplete run must never read ``failures="0" errors="0"``.
* PASS, XFAIL and OBSERVED pass: XFAIL is the expectation holding, and OBSERVED
  has no expectation to break. The outcome is in ``<properties>`` either way.

Suites group cells by Calico version and point (``calico-conformance.<calico>.<point>``),
the shape Jenkins and GitLab show as a tree.
"""

from __future__ import annotations

import functools
import re
from xml.sax.saxutils import escape

from ..model import CellResult, Matrix, Outcome
from . import facts

SUITE = "calico-conformance"
# XML 1.0 forbids most C0 controls; kind's stderr carries ANSI escapes (\x1b).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: object) -> str:
    """Any value as text XML 1.0 can hold (``None`` is empty): every attribute and body
    goes through here, so a control character in a name cannot break the document."""
    return _NOT_XML.sub("\ufffd", "" if text is None else str(text))


def classname(cell: CellResult) -> str:
    calico = cell.axes.calico if cell.axes.calico not in ("", "-") else "probe"
    return xml_safe(f"{SUITE}.{calico}.{cell.axes.point}")


def testcase_name(cell: CellResult) -> str:
    return xml_safe(cell.cell_id if cell.repeat <= 1 else f"{cell.cell_id}~r{cell.repeat}")


def _seconds(cell: CellResult) -> float:
    took = facts.cell_seconds(cell)
    return took if took is not None else float(cell.evidence.watched_s or 0.0)


# Written as text, not through ElementTree: at 10,000 cells ElementTree's serialiser took
# over a second for 120,000 property elements (issue 12's 2 s budget for every format).
# The output is what ``ET.indent`` + ``ET.tostring`` gave, byte for byte (the golden file
# holds it), and every value still passes through xml_safe and saxutils' escaping.
_ATTR_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}


@functools.lru_cache(maxsize=1 << 16)
def _quoted(value: str) -> str:
    """An attribute value, escaped; cached, since most values (versions, variants,
    verdicts) repeat across thousands of cells."""
    return escape(xml_safe(value), _ATTR_ENTITIES)


def _attrs(pairs: tuple[tuple[str, object], ...]) -> str:
    return "".join(f' {k}="{_quoted("" if v is None else str(v))}"' for k, v in pairs)


def _element(tag: str, pairs: tuple[tuple[str, object], ...], body: str | None,
             indent: str) -> str:
    if not body:
        return f"{indent}<{tag}{_attrs(pairs)} />\n"
    return f"{indent}<{tag}{_attrs(pairs)}>{escape(xml_safe(body))}</{tag}>\n"


def _outcome(cell: CellResult, body: str) -> tuple[str, str]:
    """(the element under the testcase, the suite counter it adds to, or "")."""
    fact = facts.short_fact(cell)
    pad = " " * 6
    if cell.outcome in (Outcome.FAIL, Outcome.XPASS):
        kind = "xpass" if cell.outcome is Outcome.XPASS else "fail"
        msg = f"{kind}: expected {cell.expected or 'stable'}, observed {cell.verdict.value}: {fact}"
        return _element("failure", (("message", msg), ("type", kind)), body, pad), "failures"
    if facts.NO_RESULT in cell.evidence.notes or facts.INTERRUPTED in cell.evidence.notes:
        # Not run to the end: an error, so an incomplete run never reads as all clear.
        msg = f"{fact}: {cell.evidence.notes[-1]}"
        return _element("error", (("type", "incomplete"), ("message", msg)), body, pad), "errors"
    if cell.outcome is Outcome.UNKNOWN:
        msg = f"unknown: infrastructure trouble, says nothing about the configuration: {fact}"
        return _element("skipped", (("message", msg),), body, pad), "skipped"
    if cell.outcome is Outcome.NOT_TESTED:
        msg = f"not tested: {cell.not_tested}: {fact}"
        return _element("skipped", (("message", msg),), body, pad), "skipped"
    if cell.outcome is Outcome.PREDICTED:
        msg = f"predicted from the containerd probe, not run: {fact}"
        return _element("skipped", (("message", msg),), None, pad), "skipped"
    return _element("system-out", (), body, pad), ""


def _testcase(cell: CellResult) -> tuple[str, str, float]:
    """(the testcase's XML, the counter it adds to, its seconds)."""
    ax = cell.axes
    props = "".join(
        f'        <property name="{key}" value="{_quoted(value)}" />\n'
        for key, value in (("calico", ax.calico), ("variant", ax.variant), ("point", ax.point),
                           ("kubernetes", ax.kubernetes), ("kind", ax.kind),
                           ("containerd", ax.containerd), ("node_image", ax.node_image),
                           *((("backend", ax.backend), ("cgroup", ax.cgroup)) if ax.backend
                             else ()),
                           ("tier", ax.tier.value), ("expected", cell.expected),
                           ("verdict", cell.verdict.value), ("subtype", cell.subtype),
                           ("outcome", cell.outcome.value), ("repeat", str(cell.repeat)),
                           ("untested_upstream", str(cell.untested_upstream).lower()),
                           ("artifacts", cell.artifacts)))
    body = "\n".join(facts.evidence_lines(cell) + facts.config_lines(cell))
    if cell.fix:
        body += f"\nsuggested fix: {cell.fix}"
    inner, counter = _outcome(cell, body)
    seconds = round(_seconds(cell), 3)
    head = _attrs((("classname", classname(cell)), ("name", testcase_name(cell)),
                   ("time", f"{seconds:.3f}")))
    return (f"    <testcase{head}>\n      <properties>\n{props}      </properties>\n"
            f"{inner}    </testcase>\n"), counter, seconds


def render_junit(matrix: Matrix) -> str:
    keys = ("tests", "failures", "errors", "skipped")
    suites: dict[str, tuple[list[str], dict[str, float]]] = {}
    for cell in matrix.cells:
        cases, counts = suites.setdefault(classname(cell),
                                          ([], {k: 0 for k in (*keys, "time")}))
        text, counter, seconds = _testcase(cell)
        cases.append(text)
        counts["tests"] += 1
        counts["time"] += seconds
        if counter:
            counts[counter] += 1
    when = facts.parse_time(matrix.run.started_at)
    stamp: tuple[tuple[str, object], ...] = (("timestamp", when.isoformat()),) if when else ()
    totals = {k: 0.0 for k in (*keys, "time")}
    out = []
    for name, (cases, counts) in suites.items():
        for k in totals:
            totals[k] += counts[k]
        attrs = _attrs((("name", name), *stamp, *((k, int(counts[k])) for k in keys),
                        ("time", f"{counts['time']:.3f}")))
        out.append(f"  <testsuite{attrs}>\n{''.join(cases)}  </testsuite>\n")
    root = _attrs((("name", SUITE), *((k, int(totals[k])) for k in keys),
                   ("time", f"{totals['time']:.3f}")))
    body = f"<testsuites{root}>\n{''.join(out)}</testsuites>\n" if out \
        else f"<testsuites{root} />\n"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body
