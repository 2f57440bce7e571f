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

import re
import xml.etree.ElementTree as ET

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


def _testcase(cell: CellResult) -> ET.Element:
    case = ET.Element("testcase", classname=classname(cell), name=testcase_name(cell),
                      time=f"{_seconds(cell):.3f}")
    props = ET.SubElement(case, "properties")
    ax = cell.axes
    for key, value in (("calico", ax.calico), ("variant", ax.variant), ("point", ax.point),
                       ("kubernetes", ax.kubernetes), ("kind", ax.kind),
                       ("containerd", ax.containerd), ("node_image", ax.node_image),
                       ("tier", ax.tier.value), ("expected", cell.expected),
                       ("verdict", cell.verdict.value), ("subtype", cell.subtype),
                       ("outcome", cell.outcome.value), ("repeat", str(cell.repeat)),
                       ("untested_upstream", str(cell.untested_upstream).lower()),
                       ("artifacts", cell.artifacts)):
        ET.SubElement(props, "property", name=key, value=xml_safe(value))
    body = "\n".join(facts.evidence_lines(cell) + facts.config_lines(cell))
    if cell.fix:
        body += f"\nsuggested fix: {cell.fix}"
    expected = xml_safe(cell.expected or "stable")
    body, fact = xml_safe(body), xml_safe(facts.short_fact(cell))
    if cell.outcome in (Outcome.FAIL, Outcome.XPASS):
        kind = "xpass" if cell.outcome is Outcome.XPASS else "fail"
        msg = (f"{kind}: expected {expected}, observed "
               f"{cell.verdict.value}: {fact}")
        ET.SubElement(case, "failure", message=xml_safe(msg), type=kind).text = body
    elif facts.NO_RESULT in cell.evidence.notes or facts.INTERRUPTED in cell.evidence.notes:
        # Not run to the end: an error, so an incomplete run never reads as all clear.
        ET.SubElement(case, "error", type="incomplete",
                      message=xml_safe(f"{fact}: {cell.evidence.notes[-1]}")).text = body
    elif cell.outcome is Outcome.UNKNOWN:
        ET.SubElement(case, "skipped", message=f"unknown: infrastructure trouble, says "
                      f"nothing about the configuration: {fact}").text = body
    elif cell.outcome is Outcome.NOT_TESTED:
        ET.SubElement(case, "skipped",
                      message=f"not tested: {cell.not_tested}: {fact}").text = body
    elif cell.outcome is Outcome.PREDICTED:
        ET.SubElement(case, "skipped",
                      message=f"predicted from the containerd probe, not run: {fact}")
    else:
        ET.SubElement(case, "system-out").text = body
    return case


def render_junit(matrix: Matrix) -> str:
    root = ET.Element("testsuites", name=SUITE)
    suites: dict[str, ET.Element] = {}
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    counts: dict[str, dict[str, int]] = {}
    for cell in matrix.cells:
        name = classname(cell)
        if name not in suites:
            suites[name] = ET.SubElement(root, "testsuite", name=name)
            when = facts.parse_time(matrix.run.started_at)
            if when is not None:
                suites[name].set("timestamp", when.isoformat())
            counts[name] = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        case = _testcase(cell)
        suites[name].append(case)
        c = counts[name]
        c["tests"] += 1
        c["failures"] += case.find("failure") is not None
        c["skipped"] += case.find("skipped") is not None
        c["errors"] += case.find("error") is not None
    total_time = 0.0
    for name, suite in suites.items():
        for key, value in counts[name].items():
            suite.set(key, str(value))
            totals[key] += value
        t = sum(float(tc.get("time", "0")) for tc in suite.iter("testcase"))
        suite.set("time", f"{t:.3f}")
        total_time += t
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(
        root, encoding="unicode") + "\n"
