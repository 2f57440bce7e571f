"""The grid as plain ASCII for the pytest terminal summary and the CLI.

Terminals and CI logs mangle emoji and wide characters, so this format uses only
ASCII and pads columns by character count.
"""

from __future__ import annotations

from ..model import Matrix
from ..reconcile import for_matrix
from . import facts
from .grid import build_grid

MAX_CELL = 36
# SGR colours per status for a terminal that takes them (the caller decides: a TTY, and
# NO_COLOR unset, as pytest's own terminal writer decides).
SGR = {facts.PASS: "32", facts.OBS_OK: "32", facts.XFAIL: "36", facts.FAIL: "1;31",
       facts.XPASS: "1;35", facts.FLAKY: "33", facts.OBS_BAD: "33", facts.UNKNOWN: "90",
       facts.PREDICTED: "90", facts.NOT_TESTED: "90"}


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _ascii(text: str) -> str:
    return (facts.visible(text).replace("·", "/").replace(facts.TIMES, "x").replace("†", "+")
            .encode("ascii", "replace").decode("ascii"))


def _clip(text: str, width: int = MAX_CELL) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"


def render_text(matrix: Matrix, *, colour: bool = False) -> str:
    """Aligned grid, a one-line tally and a legend of the tags that appear."""
    grid = build_grid(matrix)
    header = ["variant"] + [_clip(_ascii(c.label)) for c in grid.columns]
    rows = [header]
    statuses: list[list[str]] = [[""] * len(header)]
    for row in grid.rows:
        line = [_clip(_ascii(row))]
        statuses.append([""])
        for col in grid.columns:
            gc = grid.at(row, col)
            statuses[-1].append(gc.status if gc is not None else "")
            if gc is None:
                line.append("")
                continue
            mark = "+" if gc.untested else ""
            fact = gc.fact(ascii_only=True)  # the tag already says flaky/predicted
            fact = fact.removeprefix("flaky ").removesuffix(" (predicted)")
            line.append(_clip(_ascii(f"{facts.ASCII[gc.status]} {fact}{mark}")))
        rows.append(line)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    out = []
    for i, r in enumerate(rows):
        cells = [cell.ljust(w) for cell, w in zip(r, widths, strict=False)]
        if colour:
            cells = [f"\x1b[{SGR[st]}m{c}\x1b[0m" if st in SGR else c
                     for c, st in zip(cells, statuses[i], strict=False)]
        out.append("  ".join(cells).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    tally: dict[str, int] = {}
    for gc in grid.cells.values():
        tally[gc.status] = tally.get(gc.status, 0) + 1
    out.append("")
    out.append(f"{plural(len(grid.cells), 'cell')}: " + ", ".join(
        f"{tally[s]} {s}" for s in facts.STATUS_ORDER if s in tally)
        + ("" if matrix.complete else "  (INCOMPLETE: the run stopped early)"))
    used = grid.used_statuses()
    out.append("tags: " + "; ".join(
        f"{facts.ASCII[s]} = {_ascii(facts.MEANING[s].split(':')[0].split(';')[0])}"
        for s in used) + ("; + = untested upstream" if grid.any_untested else ""))
    answers = for_matrix(matrix)
    if answers:
        out += ["", "your configs (answers for cgroup v2 nodes; `calico-conformance check`):"]
        out += [_ascii(f"  {a.config} on containerd {a.containerd}: {a.says.upper()}: "
                       f"{a.decided_by}" + (f"; fix: {a.fix}" if a.fix else ""))
                for a in answers]
    return "\n".join(out) + "\n"
