"""Output safety, checked by real parsers: a CommonMark/GFM renderer for matrix.md, an XML
parser and the JUnit XSD for junit.xml, and the terminal grid for control characters."""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import pytest
from lxml import etree
from markdown_it import MarkdownIt
from reporting_sample import HOSTILE, sample_cells, sample_matrix

from calico_conformance.model import (
    Axes,
    CellResult,
    ConfigCheck,
    Evidence,
    Finding,
    Matrix,
    Outcome,
    Tier,
    Verdict,
)
from calico_conformance.reporting import render_junit, render_markdown, render_text
from calico_conformance.reporting.diff import diff_matrices, render_diff_text
from calico_conformance.reporting.facts import visible
from calico_conformance.reporting.markdown import md

XSD = Path(__file__).resolve().parent / "junit.xsd"
NAMES = ["x`<img src=x onerror=alert(1)>`", "a|b", "[link](javascript:alert(1))",
         "<script>alert(1)</script>", "- list", "1. one", "# head", "**b**", "a\x1b[31mred",
         "r\u202eversed", "~~s~~", "![i](http://x/y.png)", "a\\`b", "tab\there", "nul\x00x"]
GUIDE = "https://kind.sigs.k8s.io/docs/user/quick-start/#containerd-systemd_cgroup"
ISSUE = "https://github.com/projectcalico/calico/issues/9524"


def gfm() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def hostile_matrix() -> Matrix:
    base = sample_cells()[0]
    cells = [dataclasses.replace(
        base, cell_id=f"v3.28.2-{n}-k8s1.28", verdict=Verdict.RESTARTS, outcome=Outcome.FAIL,
        axes=dataclasses.replace(base.axes, variant=n, calico=f"v3.28.2{n}"), description=n,
        references=(GUIDE, ISSUE, n), fix=n, evidence=Evidence(error=n, notes=(n,)))
        for n in NAMES]
    m = sample_matrix()
    return Matrix(run=dataclasses.replace(m.run, run_id="r`<b>x</b>`", profile=HOSTILE),
                  cells=tuple(cells), complete=True)


def test_markdown_with_hostile_names_renders_no_markup_from_them() -> None:
    text = render_markdown(hostile_matrix())
    page = gfm().render(text)
    for tag in ("<img", "<script", "<a href=\"javascript", "<del>", "<h1>head", "<strong>b",
                "<ol", "<li>list"):
        assert tag not in page, tag
    assert "\x1b" not in page and "\u202e" not in page and "\x00" not in page
    # Each table row still has one cell per column: no name split a row.
    for table in re.findall(r"<table>.*?</table>", page, re.S):
        widths = {len(re.findall(r"<t[dh]", row)) for row in re.findall(r"<tr>.*?</tr>",
                                                                        table, re.S)}
        assert len(widths) == 1, table


@pytest.mark.parametrize("name", NAMES)
def test_md_escaped_text_renders_back_as_exactly_its_visible_words(name: str) -> None:
    rendered = gfm().renderInline(md(name))
    assert html.unescape(rendered) == " ".join(visible(" ".join(name.split())).split())


def test_reference_urls_survive_a_gfm_renderer_as_whole_links() -> None:
    page = gfm().render(render_markdown(hostile_matrix()))
    assert f'<a href="{GUIDE}">{GUIDE}</a>' in page
    assert f'<a href="{ISSUE}">{ISSUE}</a>' in page
    assert "user\\_guide" not in page and "\\#containerd" not in page


def _junit_matrix() -> Matrix:
    bad = "ctrl\x00\x01\x08\x0b\x1b[31m\ufffe" + "".join(chr(c) for c in range(0x7f, 0xa0))
    cells = [CellResult(cell_id=f"c-{bad}", axes=Axes(bad, bad, bad, bad, bad, bad, bad),
                        expected=bad, verdict=Verdict.RESTARTS, outcome=o, subtype=bad,
                        started_at=bad, finished_at="", artifacts=bad, fix=bad,
                        description=bad, evidence=Evidence(error=bad, notes=(bad,)))
             for o in Outcome]
    m = sample_matrix()
    return Matrix(run=dataclasses.replace(m.run, started_at=bad), cells=tuple(cells))


def test_junit_with_control_characters_is_well_formed_and_valid_against_the_xsd() -> None:
    doc = etree.fromstring(render_junit(_junit_matrix()).encode("utf-8"))
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    schema.assertValid(doc)
    schema.assertValid(etree.fromstring(render_junit(sample_matrix()).encode("utf-8")))


def test_junit_writer_survives_none_values() -> None:
    cell = dataclasses.replace(sample_cells()[0], fix=None, artifacts=None,  # type: ignore
                               started_at=None, subtype=None)  # type: ignore[arg-type]
    m = sample_matrix()
    matrix = Matrix(run=dataclasses.replace(m.run, started_at=None),  # type: ignore[arg-type]
                    cells=(cell,))
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(
        etree.fromstring(render_junit(matrix).encode("utf-8")))


def test_terminal_output_neutralises_control_characters() -> None:
    text = render_text(hostile_matrix())
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", text)
    old = hostile_matrix()
    diff = render_diff_text(diff_matrices(old, Matrix(run=old.run, cells=())))
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", diff)


def test_diff_is_a_small_table_with_gone_and_new_counted() -> None:
    old = sample_matrix()
    cells = list(old.cells)
    gone, new = cells[3], dataclasses.replace(cells[3], cell_id="v9.9.9-new-k8s1.28")
    report = diff_matrices(old, Matrix(run=old.run, cells=(*cells[:3], *cells[4:], new)))
    text = render_diff_text(report)
    lines = text.splitlines()
    assert "1 new, 1 gone" in lines[0]
    header = lines[2].split(" | ")
    assert [h.strip() for h in header] == ["cell", "before", "after", "change"]
    row = next(ln for ln in lines if ln.startswith(gone.cell_id))
    assert [x.strip() for x in row.split(" | ")][2:] == ["-", "gone"]
    assert len({ln.index(" | ") for ln in lines[2:] if " | " in ln}) == 1  # aligned


def test_diff_fails_on_gone_or_new_cells_only_with_the_flag(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from calico_conformance.cli import main
    from calico_conformance.matrixfile import matrix_to_json
    old = sample_matrix()
    (tmp_path / "old.json").write_text(matrix_to_json(old))
    (tmp_path / "new.json").write_text(matrix_to_json(Matrix(run=old.run, cells=old.cells[3:])))
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")]) == 0
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json"),
                 "--fail-on-gone-or-new"]) == 1
    assert main(["diff", str(tmp_path / "old.json"), str(tmp_path / "old.json"),
                 "--fail-on-gone-or-new"]) == 0
    assert "| gone" in capsys.readouterr().out


def test_html_references_are_safe_links_and_other_schemes_stay_text() -> None:
    from calico_conformance.reporting import render_html
    page = render_html(hostile_matrix())
    assert (f'<a href="{GUIDE}" rel="noopener noreferrer" target="_blank">{GUIDE}</a>'
            in page)
    assert 'href="javascript' not in page and "<a href=\"http://x/y.png" not in page


def test_html_shows_readable_times_and_each_cells_duration() -> None:
    from calico_conformance.reporting import render_html
    page = render_html(sample_matrix())
    stamps = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', page)
    assert stamps and all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)
                          for _, text in stamps)
    assert "took 1m30s" in page  # the sample cells ran 90 s each
    assert "toLocaleString" in page  # shown in the reader's local time in a browser


def test_a_probe_cells_runtime_name_with_markup_renders_as_text() -> None:
    """Issue 22: a runtime named ``<img src=x onerror=...>`` reaches a probe cell's
    overrides, differences and findings; matrix.md shows it, never renders it."""
    base = sample_cells()[0]
    table = ('plugins."io.containerd.grpc.v1.cri".containerd.runtimes.'
             '"<img src=x onerror=alert(1)>"')
    cells = [dataclasses.replace(
        base, verdict=Verdict.SANDBOX_FAILS, outcome=Outcome.FAIL,
        axes=dataclasses.replace(base.axes, tier=Tier.PROBE),
        config_check=ConfigCheck(status="differs", overrides=(f"[{table}.options] Root: x",),
                                 differences=(f"[{table}] runtime_type",)),
        findings=(Finding(code="CC004", severity="error", message=f"runtime in [{table}]",
                          table=table, key="runtime_type", fix=f"fix [{table}]"),),
        evidence=Evidence(error=f"no runtime for {table}"))]
    page = gfm().render(render_markdown(Matrix(run=sample_matrix().run, cells=tuple(cells))))
    assert "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # shown, as text
