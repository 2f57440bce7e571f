"""Golden files for every rendered format; update with `pytest tests/reporting --update-goldens`."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from reporting_sample import HOSTILE, normalise, sample_matrix

from calico_conformance.reporting import render_html, render_junit, render_markdown, render_text
from calico_conformance.reporting.junit import xml_safe
from golden import check_golden


def test_markdown_matches_its_golden_file(update_goldens: bool) -> None:
    check_golden("reporting/matrix.md", normalise(render_markdown(sample_matrix())),
                 update_goldens)


def test_html_matches_its_golden_file(update_goldens: bool) -> None:
    check_golden("reporting/matrix.html", normalise(render_html(sample_matrix())),
                 update_goldens)


def test_junit_matches_its_golden_file(update_goldens: bool) -> None:
    check_golden("reporting/junit.xml", normalise(render_junit(sample_matrix())),
                 update_goldens)


def test_terminal_text_matches_its_golden_file(update_goldens: bool) -> None:
    check_golden("reporting/matrix.txt", normalise(render_text(sample_matrix())),
                 update_goldens)


def test_normalising_removes_the_run_specific_stamps_and_names() -> None:
    a, b = render_markdown(sample_matrix()), render_markdown(sample_matrix())
    assert normalise(a) == normalise(b)
    assert "cc-RANDOM" in normalise(a)


def test_hostile_cluster_text_never_reaches_the_html_unescaped() -> None:
    page = render_html(sample_matrix())
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # ours, the one that opens a cell's details


def test_hostile_cluster_text_is_escaped_in_markdown_too() -> None:
    text = render_markdown(sample_matrix())
    assert HOSTILE not in text and "<img src=x" not in text and "<script>" not in text


def test_terminal_text_is_ascii_and_its_columns_line_up() -> None:
    text = render_text(sample_matrix())
    text.encode("ascii")
    grid = text.split("\n\n")[0].splitlines()
    rule = grid[1]
    starts = [i for i in range(len(rule)) if rule[i] == "-" and (i == 0 or rule[i - 1] == " ")]
    for line in grid[2:]:
        for s in starts[1:]:
            assert line[s - 2: s] in ("  ", "") or len(line) < s, line


def test_html_is_self_contained_with_no_external_assets() -> None:
    page = render_html(sample_matrix())
    tags = re.findall(r"<[a-zA-Z][^>]*>", page)
    # Assets (src, <link href>, xlink) are local; <a> may navigate to a reference, safely.
    links = [u for t in tags
             for u in re.findall(r"""\b(?:src|href|xlink:href)\s*=\s*["']?([^"' >]*)""", t)
             if not (t.startswith("<a ") and u.startswith("https://")
                     and 'rel="noopener noreferrer"' in t)]
    assert links and all(u.startswith(("#", "data:")) for u in links), links
    assert "@import" not in page and "url(" not in page and "@font-face" not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_junit_counts_failures_and_skips_and_carries_the_axes_as_properties() -> None:
    matrix = sample_matrix()
    root = ET.fromstring(render_junit(matrix))
    cases = list(root.iter("testcase"))
    assert len(cases) == len(matrix.cells) == int(root.get("tests", "-1"))
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    expected_failed = {c.cell_id + (f"~r{c.repeat}" if c.repeat > 1 else "")
                       for c in matrix.cells if c.outcome.value in ("fail", "xpass")}
    assert failed == expected_failed
    assert int(root.get("failures", "-1")) == len(failed)
    skipped = {c.get("name") for c in cases if c.find("skipped") is not None}
    assert skipped == {c.cell_id for c in matrix.cells
                       if c.outcome.value in ("unknown", "predicted")}
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert {"calico", "variant", "point", "verdict", "subtype", "outcome"} <= set(props)
        assert case.get("classname", "").startswith("calico-conformance.")


def test_junit_structure_follows_the_junit_schema_shape() -> None:
    """The subset of the Jenkins JUnit XSD that CI tools read: element nesting and attributes."""
    root = ET.fromstring(render_junit(sample_matrix()))
    assert root.tag == "testsuites"
    allowed = {"testsuite": {"properties", "testcase", "system-out", "system-err"},
               "testcase": {"properties", "failure", "error", "skipped", "system-out",
                            "system-err"}}
    for suite in root:
        assert suite.tag == "testsuite"
        assert {"name", "tests", "failures", "errors", "skipped", "time"} <= set(suite.attrib)
        assert int(suite.get("tests", "0")) == len(suite.findall("testcase"))
        assert {c.tag for c in suite} <= allowed["testsuite"]
        for case in suite.findall("testcase"):
            assert {"classname", "name", "time"} <= set(case.attrib)
            float(case.get("time", "x"))
            assert {c.tag for c in case} <= allowed["testcase"]
            assert len([c for c in case if c.tag in ("failure", "error", "skipped")]) <= 1


def test_junit_drops_characters_xml_cannot_carry() -> None:
    assert xml_safe("a\x1b[31mb\x00") == "a\ufffd[31mb\ufffd"
    ET.fromstring(render_junit(sample_matrix()))  # the sample's kind error has ANSI escapes
