"""``matrix.html``: one self-contained page, a colour-coded heatmap with details.

It is attached to bug reports and opened from CI artefacts offline, so there are
no external assets at all (a CSP forbids them). Everything from a cluster goes
through :func:`e` (``html.escape``): event messages are attacker-controllable.
"""

from __future__ import annotations

from datetime import timezone
from html import escape

from ..model import CellResult, Evidence, Matrix
from ..reconcile import for_matrix
from . import facts
from .grid import Grid, GridCell, build_grid
from .timeline import render_timeline

COLOUR = {
    facts.PASS: "#a5d6a7", facts.XFAIL: "#b3d4f5", facts.FAIL: "#ef5350",
    facts.XPASS: "#ba68c8", facts.OBS_OK: "#dcedc8", facts.OBS_BAD: "#ffcc80",
    facts.UNKNOWN: "#e0e0e0", facts.PREDICTED: "#eceff1", facts.FLAKY: "#fff176",
    facts.NOT_TESTED: "#d7ccc8",
}
# Above this many cell results, evidence is kept once per distinct value and filled in
# when a cell's details open; the grid needs no JavaScript either way.
COMPACT_CELLS = 1000
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:")
CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#212121}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse}th,td{border:1px solid #bdbdbd;padding:4px 6px}
table.grid th{background:#f5f5f5;font-weight:600;vertical-align:bottom}
table.grid th small{display:block;font-weight:400;color:#616161}
table.grid td{min-width:9em;vertical-align:top}
table.grid tbody th{text-align:left;vertical-align:top;font-family:ui-monospace,monospace;
font-weight:500}
table.grid td a{color:inherit;text-decoration:none;display:block}
table.grid td a:hover{text-decoration:underline}
td.predicted{background-image:repeating-linear-gradient(45deg,transparent 0 6px,#cfd8dc 6px 8px)}
td.fail,td.xpass{color:#fff;font-weight:600}
ul.legend{list-style:none;padding-left:0;columns:2;max-width:1100px}
.legend span.sw{display:inline-block;width:1em;height:1em;vertical-align:-2px;
border:1px solid #9e9e9e;margin-right:.4em}
.banner{background:#fff3e0;border-left:4px solid #fb8c00;padding:.5em 1em}
details.cell{border:1px solid #e0e0e0;border-left-width:6px;margin:.4em 0;padding:.3em .8em}
details.cell[open]{background:#fafafa}details.cell summary{cursor:pointer}
details.cell table{font-size:12px;margin:.4em 0}pre{background:#263238;color:#eceff1;
padding:.6em;overflow-x:auto;white-space:pre-wrap}
svg.timeline{display:block;margin:.4em 0;background:#fff;border:1px solid #eee}
svg text.lane{font-size:11px;fill:#37474f}svg text.tick{font-size:10px;fill:#607d8b}
.meta{color:#616161}
"""
# Open a cell's details when its grid link (or a #hash on load) points at it.
SCRIPT = """
(function(){
  function openHash(){
    var id=decodeURIComponent(location.hash.slice(1));
    var el=id?document.getElementById(id):null;
    if(el&&el.tagName==="DETAILS"){el.open=true;el.scrollIntoView();}
  }
  function localTimes(){
    var ts=document.querySelectorAll("time[datetime]");
    for(var i=0;i<ts.length;i++){
      var d=new Date(ts[i].getAttribute("datetime"));
      if(!isNaN(d.getTime())){ts[i].textContent=d.toLocaleString();}
    }
  }
  // A large matrix keeps each distinct evidence once, in a <template>: fill it in on open.
  document.addEventListener("toggle",function(ev){
    var d=ev.target;if(!d.open||!d.querySelectorAll){return;}
    var slots=d.querySelectorAll("div.ev[data-ev]:empty");
    for(var i=0;i<slots.length;i++){
      var t=document.getElementById("ev-"+slots[i].getAttribute("data-ev"));
      if(t){slots[i].appendChild(t.content.cloneNode(true));}
    }
  },true);
  window.addEventListener("hashchange",openHash);
  document.addEventListener("DOMContentLoaded",function(){localTimes();openHash();});
})();
"""


def e(text: object) -> str:
    return escape(str(text), quote=True)


def link(url: str) -> str:
    """A reference as a link when it is a plain http(s) URL (escaped; the page opened
    from it gets neither this page's window nor its address), else text."""
    if not facts.SAFE_URL.fullmatch(url):
        return e(url)
    return f'<a href="{e(url)}" rel="noopener noreferrer" target="_blank">{e(url)}</a>'


def when(iso: str, missing: str = "?") -> str:
    """A readable time (UTC here, the reader's local time once the page's script runs)."""
    t = facts.parse_time(iso)
    if t is None:
        return e(iso or missing)
    return (f'<time datetime="{e(t.isoformat())}">'
            f"{e(t.astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC'))}</time>")


def _anchor(cell_id: str) -> str:
    return "cell-" + "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in cell_id)


def _grid(grid: Grid) -> str:
    head = "".join(f"<th>{e(c.label)}<small>{e(c.detail)}</small></th>" for c in grid.columns)
    rows = []
    for row in grid.rows:
        tds = [f"<th>{e(row)}</th>"]
        for col in grid.columns:
            gc = grid.at(row, col)
            if gc is None:
                tds.append('<td class="empty"></td>')
                continue
            mark = (f' <span title="{e(facts.UNTESTED_NOTE)}">{facts.UNTESTED_MARK}</span>'
                    if gc.untested else "")
            tds.append(f'<td class="{gc.status}" style="background-color:{COLOUR[gc.status]}" '
                       f'title="{e(facts.MEANING[gc.status])}">'
                       f'<a href="#{_anchor(gc.cell.cell_id)}">'
                       f"{facts.GLYPH[gc.status]} {e(gc.fact())}</a>{mark}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    return (f'<table class="grid"><thead><tr><th>containerd variant</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _legend() -> str:
    items = "".join(f'<li><span class="sw" style="background:{COLOUR[s]}"></span>'
                    f"{facts.GLYPH[s]} {e(facts.MEANING[s])}</li>" for s in facts.STATUS_ORDER)
    return (f'<ul class="legend">{items}<li>{facts.UNTESTED_MARK} {e(facts.UNTESTED_NOTE)}'
            "</li></ul>")


def _table(header: list[str], rows: list[list[object]]) -> str:
    if not rows:
        return ""
    th = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _evidence(ev: Evidence) -> str:
    """The heavy part of a cell's details: its timeline, events, pods and error."""
    parts = [render_timeline(ev),
             _table(["reason", "count", "message", "object"],
                    [[x.reason, x.count, facts.clean(x.message), x.object] for x in ev.events]),
             _table(["pod", "node", "restarts", "last reason", "exit", "ready"],
                    [[p.pod, p.node, p.restarts_delta, p.last_reason,
                      "" if p.exit_code is None else p.exit_code, p.ready] for p in ev.pods])]
    if ev.error:
        parts.append(f"<pre>{e(facts.clean(ev.error).strip()[:4000])}</pre>")
    return "".join(parts)


class Bank:
    """A large matrix's details, each distinct one kept once (in a ``<template>``)."""

    def __init__(self) -> None:
        self.bodies: dict[str, int] = {}
        self.evidence: dict[Evidence, str] = {}

    def slot(self, body: str) -> str:
        return f'<div class="ev" data-ev="{self.bodies.setdefault(body, len(self.bodies))}"></div>'

    def templates(self) -> str:
        return "".join(f'<template id="ev-{i}">{b}</template>' for b, i in self.bodies.items())


def _repeat(cell: CellResult, bank: Bank | None) -> str:
    """A repeat's details. With a ``bank`` (a large matrix) each distinct body is kept once
    in a ``<template>`` and filled in when the details open."""
    ev = cell.evidence
    lines = [x for x in facts.evidence_lines(cell) if not x.startswith(("error: ", "event "))]
    parts = ["<ul>" + "".join(f"<li>{e(x)}</li>" for x in lines + facts.config_lines(cell))
             + "</ul>"]
    if bank is None:
        parts.append(_evidence(ev))
    else:
        if ev not in bank.evidence:
            bank.evidence[ev] = _evidence(ev)
        parts.append(bank.evidence[ev])
    parts.append(_table(["code", "severity", "table", "key", "message"],
                        [[f.code, f.severity, f.table, f.key, f.message]
                         for f in cell.findings]))
    refs = list(dict.fromkeys([*cell.references, *(r for f in cell.findings
                                                     for r in f.references)]))
    if refs:
        parts.append("<p>References: " + ", ".join(link(r) for r in refs) + "</p>")
    took = facts.cell_seconds(cell)
    if cell.started_at:
        parts.append(f'<p class="meta">Started {when(cell.started_at)}'
                     + (f" · took {facts.duration(took)}" if took is not None else "")
                     + "</p>")
    if cell.fix:
        parts.append(f"<p><strong>Suggested fix:</strong> {e(cell.fix)}</p>")
    if cell.artifacts:
        parts.append(f'<p class="meta">Artifacts: {e(cell.artifacts)}</p>')
    body = "".join(p for p in parts if p)
    return body if bank is None else bank.slot(body)


def _details(gc: GridCell, bank: Bank | None) -> str:
    cell = gc.cell
    mark = f" {facts.UNTESTED_MARK}" if gc.untested else ""
    body = [f"<p>{e(cell.description)}</p>" if cell.description else ""]
    if len(gc.results) == 1:
        body.append(_repeat(cell, bank))
    else:
        for r in gc.results:
            st = facts.status(r)
            body.append(f"<h4>{facts.GLYPH[st]} repeat {r.repeat}: "
                        f"{e(facts.short_fact(r))}</h4>{_repeat(r, bank)}")
    return (f'<details class="cell" id="{_anchor(cell.cell_id)}" '
            f'style="border-left-color:{COLOUR[gc.status]}"><summary>{facts.GLYPH[gc.status]} '
            f"<code>{e(cell.cell_id)}</code> {e(gc.fact())}{mark}</summary>"
            + "".join(body) + "</details>")


def _your_configs(matrix: Matrix) -> str:
    """The user's configs first, one answer each (the Markdown report's block)."""
    answers = for_matrix(matrix)
    if not answers:
        return ""
    rows = "".join(f"<tr><td><code>{e(a.config)}</code></td><td>{e(a.containerd)}</td>"
                   f"<td><strong>{e(a.says)}</strong></td><td>{e(a.decided_by)}</td>"
                   f"<td>{e(a.fix) or '-'}</td></tr>" for a in answers)
    return ("<h2>Your configs (answers for cgroup v2 nodes)</h2><table><tr><th>config</th>"
            "<th>containerd</th><th>answer</th><th>decided by</th><th>fix</th></tr>"
            f"{rows}</table>")


def render_html(matrix: Matrix) -> str:
    grid = build_grid(matrix)
    run = matrix.run
    meta = (f"run {e(run.run_id)} · profile {e(run.profile)} · tier {e(run.tier)} · suite "
            f"{e(run.suite_version)} · started {when(run.started_at)} · finished "
            f"{when(run.finished_at, 'not finished')}")
    banner = ("" if matrix.complete else '<p class="banner"><strong>Incomplete run:</strong> '
              "the run stopped before every planned cell finished; missing cells are "
              "unknown.</p>")
    ordered = [gc for row in grid.rows for col in grid.columns
               if (gc := grid.at(row, col)) is not None]
    flagged = [gc for gc in ordered if any(facts.is_flagged(r) for r in gc.results)]
    flagged_ids = {id(gc) for gc in flagged}
    others = [gc for gc in ordered if id(gc) not in flagged_ids]
    bank = Bank() if len(matrix.cells) > COMPACT_CELLS else None
    crash = "".join(_details(gc, bank) for gc in flagged)
    rest = "".join(_details(gc, bank) for gc in others)
    templates = bank.templates() if bank is not None else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>calico-node conformance matrix: {e(run.run_id)}</title>"
        f"<style>{CSS}</style><script>{SCRIPT}</script></head>\n<body>"
        f'<h1>calico-node conformance matrix</h1><p class="meta">{meta}</p>{banner}'
        f"{_your_configs(matrix)}{_grid(grid)}{_legend()}"
        f"<h2>{e(facts.crash_heading(matrix))}</h2>"
        + (crash or "<p>No cell flagged a configuration.</p>")
        + "<h2>Other cells</h2>" + rest + templates
        + "</body></html>\n"
    )
