"""A cell whose tier could not exercise what its variant is about never reads as a pass."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from calico_conformance.model import Axes, CellResult, Matrix, Outcome, RunMeta, Tier, Verdict
from calico_conformance.reporting.facts import crash_heading, status, window_text
from calico_conformance.reporting.html import render_html
from calico_conformance.reporting.junit import render_junit
from calico_conformance.reporting.markdown import render_markdown
from calico_conformance.reporting.text import render_text

WHY = "the kubelet's systemd cgroup driver against runc's cgroupfs needs systemd as PID 1"


def _probe_matrix() -> Matrix:
    cell = CellResult(
        cell_id="probe-systemd-cgroup-off-v0.24.0",
        axes=Axes(calico="-", variant="systemd-cgroup-off", point="probe-v0.24.0",
                  kind="v0.24.0", containerd="1.6.20", tier=Tier.PROBE),
        expected="stable", verdict=Verdict.STABLE, outcome=Outcome.NOT_TESTED, not_tested=WHY)
    run = RunMeta(run_id="r", suite_version="0", profile="default", tier="probe",
                  probe_window_s=20.0, planned_ids=(cell.cell_id,),
                  planned_cells=(cell.axes,))
    return Matrix(run=run, cells=(cell,))


def test_a_not_tested_cell_is_marked_in_every_format_and_never_as_a_pass() -> None:
    matrix = _probe_matrix()
    cell = matrix.cells[0]
    assert status(cell) == "not-tested"
    md = render_markdown(matrix)
    assert "not tested" in md and "not tested (" not in md and "✅" not in md.split("## ")[1]
    html = render_html(matrix)
    assert 'class="not-tested"' in html and 'class="pass"' not in html
    assert "not tested" in render_text(matrix) and "(stable)" not in render_text(matrix)
    case = ET.fromstring(render_junit(matrix)).find(".//testcase")
    assert case is not None
    skipped = case.find("skipped")
    assert skipped is not None and WHY in skipped.get("message", "")


def test_a_probe_only_report_claims_no_more_than_the_probe_can_show() -> None:
    matrix = _probe_matrix()
    assert "cannot show calico-node restarts" in crash_heading(matrix)
    md = render_markdown(matrix)
    assert "## Crash-inducing configurations" not in md
    assert "probe window 20s" in md and "soak" not in window_text(matrix.run)


def test_the_terminal_grid_is_coloured_only_when_asked_and_counts_in_the_singular() -> None:
    matrix = _probe_matrix()
    plain = render_text(matrix)
    assert "\x1b[" not in plain and "1 cell:" in plain and "1 cells" not in plain
    coloured = render_text(matrix, colour=True)
    assert "\x1b[90m" in coloured  # not tested is grey, like every non-verdict
