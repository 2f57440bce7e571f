"""A misplaced container is never a pass, and a run of a user's configs names the bad ones.

Issue #20: a file with ``SystemdCgroup = false`` got a green "expected stable, was stable"
from the node tier on a cgroup v1 host, and three user configs, one rejected by
containerd, gave "No alarms".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from calico_conformance.model import Axes, CellResult, Matrix, Outcome, RunMeta, Tier, Verdict
from calico_conformance.reporting.html import render_html
from calico_conformance.reporting.junit import render_junit
from calico_conformance.reporting.markdown import render_markdown
from calico_conformance.reporting.text import render_text
from calico_conformance.verdict import outcome


def _node(variant: str, verdict: Verdict, expected: str = "") -> CellResult:
    axes = Axes(calico="-", variant=variant, point="node-trixie", containerd="1.7.24",
                node_image="trixie", tier=Tier.NODE, backend="docker", cgroup="v1")
    return CellResult(cell_id=f"node-{variant}-trixie", axes=axes, expected=expected,
                      verdict=verdict, outcome=outcome(expected, verdict))


def _matrix(*cells: CellResult, mine: tuple[str, ...] = ()) -> Matrix:
    run = RunMeta(run_id="r", suite_version="0", profile="default", tier="node",
                  planned_ids=tuple(c.cell_id for c in cells),
                  planned_cells=tuple(c.axes for c in cells), user_variants=mine,
                  variant_mode="as-is (the node's whole config)" if mine else "")
    return Matrix(run=run, cells=cells)


def test_a_misplaced_container_expected_stable_fails_in_every_format() -> None:
    cell = _node("edge", Verdict.MISPLACED, expected="stable")
    assert cell.outcome is Outcome.FAIL
    matrix = _matrix(cell)
    md = render_markdown(matrix)
    assert "misplaced: outside its pod cgroup" in md and "✅" not in md.split("## ")[1]
    assert 'class="pass"' not in render_html(matrix)
    assert "misplaced" in render_text(matrix)
    case = ET.fromstring(render_junit(matrix)).find(".//testcase")
    assert case is not None and case.find("failure") is not None


def test_a_run_of_a_users_configs_says_how_many_are_bad_not_no_alarms() -> None:
    md = render_markdown(_matrix(_node("mine-a", Verdict.CONFIG_REJECTED),
                                 _node("mine-b", Verdict.STABLE),
                                 _node("baseline", Verdict.SANDBOX_FAILS),
                                 mine=("mine-a", "mine-b")))
    assert "**1 of your configs is bad** (mine-a)." in md and "No alarms" not in md
    assert "your configs: as-is (the node's whole config)" in md
    assert "| `mine-a` | 1.7.24 | **bad** |" in md and "| `baseline` | 1.7.24 |" not in md
    matrix = _matrix(_node("mine-a", Verdict.CONFIG_REJECTED), mine=("mine-a",))
    assert "<td><code>mine-a</code></td><td>1.7.24</td><td><strong>bad</strong>" in \
        render_html(matrix)
    assert "mine-a on containerd 1.7.24: BAD" in render_text(matrix)
    assert "No alarms" in render_markdown(_matrix(_node("mine-b", Verdict.STABLE),
                                                  mine=("mine-b",)))
