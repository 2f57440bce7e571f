"""``matrix.md``: the grid and the crash-inducing configurations, as a PR comment.

GitHub renders HTML inside Markdown, so every string that came from a cluster is
escaped (:func:`md`) and long output goes into fenced blocks whose fence is longer
than any backtick run in the text.
"""

from __future__ import annotations

import html
import re

from ..model import CellResult, Finding, Matrix
from ..reconcile import for_matrix
from . import facts
from .grid import Grid, build_grid
from .text import plural

# GitHub caps a comment at 65536 characters: past this, point at matrix.html instead.
MAX_DETAILS_PER_VARIANT = 3
# Inline markup: emphasis, code, links, images, tables, strikethrough (``<>&`` become
# entities); and what would start a list, a heading or a quote at the start of an item.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")
_MD_START = re.compile(r"^([-+])(?=\s|$)|^(\d+)([.)])(?=\s|$)")
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+:/@=~-]*")


def md(text: object) -> str:
    """Escape text for inline Markdown (tables included): entities for ``<>&``, a
    backslash before every markup character, controls shown as ``?``, one line."""
    flat = " ".join(facts.visible(" ".join(str(text).split())).split())
    escaped = html.escape(flat, quote=False)
    escaped = _MD_SPECIAL.sub(r"\\\1", escaped)
    return _MD_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", escaped)


def code(text: object) -> str:
    """A name as inline code when it is plain; escaped text otherwise (a backtick or
    a pipe in a name must not end the code span or the table cell)."""
    flat = str(text)
    return f"`{flat}`" if _PLAIN.fullmatch(flat) else md(flat)


def link(url: str) -> str:
    """A reference URL as an autolink when it is a plain http(s) URL, else escaped text:
    an autolink (CommonMark 6.5) takes no escapes, so GitHub links the URL whole."""
    return f"<{url}>" if facts.SAFE_URL.fullmatch(url) else md(url)


def fenced(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def _grid_table(grid: Grid) -> list[str]:
    head = ["containerd variant"] + [
        f"{md(c.label)}<br>{md(c.detail)}" if c.detail else md(c.label) for c in grid.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in grid.rows:
        out = [code(row)]
        for col in grid.columns:
            gc = grid.at(row, col)
            if gc is None:
                out.append("")
                continue
            text = f"{facts.SYMBOL[gc.status]} {md(gc.fact())}"
            if gc.untested:
                text += f" {facts.UNTESTED_MARK}"
            out.append(text)
        lines.append("| " + " | ".join(out) + " |")
    return lines


def _verdict_line(alarms: int, bad: list[str], complete: bool) -> str:
    """Alarms first; else the user's bad configs; never "No alarms" over a bad config."""
    if alarms:
        return f"**{alarms} need attention.**"
    if bad:
        return (f"**{len(bad)} of your configs {'is' if len(bad) == 1 else 'are'} bad** "
                f"({', '.join(md(b) for b in bad)}).")
    return "**No alarms.**" if complete else "**No alarms among the cells that finished.**"


def _summary(matrix: Matrix, grid: Grid) -> list[str]:
    counts: dict[str, int] = {}
    for gc in grid.cells.values():
        counts[gc.status] = counts.get(gc.status, 0) + 1
    parts = [f"{facts.SYMBOL[s]} {counts[s]} {s}" for s in facts.STATUS_ORDER if s in counts]
    alarms = sum(counts.get(s, 0) for s in facts.ALARMS)
    run = matrix.run
    bad = sorted({c.axes.variant for c in matrix.cells
                  if c.axes.variant in run.user_variants and facts.is_flagged(c)})
    lines = [f"**Run** {code(run.run_id)} · profile {code(run.profile)} · tier {md(run.tier)}"
             f" · suite {md(run.suite_version)}"
             + (f" · {facts.window_text(run)}" if facts.window_text(run) else "")
             + (f" · repeat {facts.TIMES}{run.repeat}" if run.repeat > 1 else ""),
             "",
             f"{plural(len(grid.cells), 'cell')}: " + ", ".join(parts) + ". "
             + _verdict_line(alarms, bad, matrix.complete)]
    if run.user_variants:
        lines[0] += f" · your configs: {md(run.variant_mode)}"
    if not matrix.complete:
        lines += ["", "> **Incomplete run:** the run stopped before every planned cell "
                  "finished; missing cells are shown as unknown."]
    return lines


def _legend(grid: Grid) -> list[str]:
    lines = ["", "**Legend**", ""]
    lines += [f"- {facts.SYMBOL[s]} {facts.MEANING[s]}" for s in facts.STATUS_ORDER]
    lines.append(f"- {facts.UNTESTED_MARK} {facts.UNTESTED_NOTE}")
    return lines


def _finding_rows(findings: list[Finding]) -> list[str]:
    lines = ["| code | severity | where | message |", "|---|---|---|---|"]
    for f in findings:
        where = ".".join(p for p in (f.table, f.key) if p)
        lines.append(f"| {code(f.code)} | {md(f.severity)} | {md(where) or '-'} | "
                     f"{md(f.message)} |")
    return lines


def _cell_details(cell: CellResult) -> list[str]:
    mark = f" {facts.UNTESTED_MARK}" if cell.untested_upstream else ""
    rep = f" (repeat {cell.repeat})" if cell.repeat > 1 else ""
    summary = (f"{facts.SYMBOL[facts.status(cell)]} {html.escape(facts.visible(cell.cell_id))}"
               f"{rep}: {html.escape(facts.visible(facts.short_fact(cell)))}{mark}")
    lines = ["<details>", f"<summary>{summary}</summary>", ""]
    lines += [f"- {md(line)}" for line in facts.evidence_lines(cell)
              if not line.startswith("error: ")]
    lines += [f"- {md(line)}" for line in facts.config_lines(cell)]
    if cell.evidence.error:
        lines += ["", fenced(facts.clean(cell.evidence.error).strip()[:1500])]
    lines += ["", "</details>", ""]
    return lines


def _variant_section(variant: str, cells: list[CellResult]) -> list[str]:
    first = cells[0]
    lines = [f"### {code(variant)}", ""]
    if first.description:
        lines += [md(first.description), ""]
    flagged = ", ".join(sorted({f"{c.verdict.value} ({facts.status(c)})" for c in cells}))
    lines += [f"Flagged by {len(cells)} cell(s): {md(flagged)}", ""]
    findings: list[Finding] = []
    for c in cells:
        findings += [f for f in c.findings if f not in findings]
    if findings:
        lines += ["**Lint findings**", "", *_finding_rows(findings), ""]
    for c in cells[:MAX_DETAILS_PER_VARIANT]:
        lines += _cell_details(c)
    if len(cells) > MAX_DETAILS_PER_VARIANT:
        lines += [f"… and {len(cells) - MAX_DETAILS_PER_VARIANT} more cell(s): see matrix.html "
                  "for every cell's evidence.", ""]
    refs: list[str] = []
    for ref in [*(r for c in cells for r in c.references),
                *(r for f in findings for r in f.references)]:
        if ref not in refs:
            refs.append(ref)
    if refs:
        lines += ["**Upstream references**", ""] + [f"- {link(r)}" for r in refs] + [""]
    fixes = [x for x in [first.fix, *(f.fix for f in findings)] if x]
    if fixes:
        lines += ["**Suggested fix**", ""] + [f"- {md(x)}" for x in dict.fromkeys(fixes)] + [""]
    return lines


def crash_sections(matrix: Matrix) -> list[str]:
    by_variant: dict[str, list[CellResult]] = {}
    shown: set[str] = set()
    for cell in matrix.cells:  # one repeat per cell id: the first that flags it
        if facts.is_flagged(cell) and cell.cell_id not in shown:
            shown.add(cell.cell_id)
            by_variant.setdefault(cell.axes.variant, []).append(cell)
    lines = [f"## {facts.crash_heading(matrix)}", ""]
    if not by_variant:
        return [*lines, "No cell flagged a configuration.", ""]
    for variant, cells in by_variant.items():
        lines += _variant_section(variant, cells)
    return lines


def _your_configs(matrix: Matrix, for_cgroup: str = "v2") -> list[str]:
    """One answer per user config and containerd version (:mod:`..reconcile`), first."""
    answers = for_matrix(matrix, for_cgroup)
    if not answers:
        return []
    lines = [f"## Your configs (answers for cgroup {for_cgroup} nodes; "
             f"`calico-conformance check` gives the same)", "",
             "| config | containerd | answer | decided by | fix |", "|---|---|---|---|---|"]
    lines += [f"| {code(a.config)} | {md(a.containerd)} | **{md(a.says)}** | "
              f"{md(a.decided_by)} | {md(a.fix) or '-'} |" for a in answers]
    return [*lines, ""]


def render_markdown(matrix: Matrix) -> str:
    grid = build_grid(matrix)
    lines = ["# calico-node conformance matrix", ""]
    lines += [*_summary(matrix, grid), ""]
    lines += _your_configs(matrix)
    lines += _grid_table(grid)
    if grid.any_untested:
        lines += ["", f"{facts.UNTESTED_MARK} {facts.UNTESTED_NOTE}."]
    if any(gc.status == facts.PREDICTED for gc in grid.cells.values()):
        lines += ["", f"{facts.SYMBOL[facts.PREDICTED]} Predicted cells were not run on kind: "
                  "their verdict comes from the containerd probe tier."]
    lines += [*_legend(grid), ""]
    lines += crash_sections(matrix)
    return "\n".join(lines).rstrip() + "\n"
