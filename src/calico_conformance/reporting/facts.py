"""What every report format says about one cell, worded once.

Markdown, HTML, JUnit and the terminal grid must agree on what a cell *is*; they
differ only in markup. So the status classes, symbols, short facts and evidence
lines live here and the renderers only decorate them.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ..errors import CONTROLS, bounded
from ..model import CellResult, Evidence, Matrix, Outcome, RunMeta, Tier, Verdict

# Display status: the outcome, with OBSERVED split by verdict so "no expectation,
# but it restarted" is visible without pretending to be an alarm.
PASS, XFAIL, FAIL, XPASS = "pass", "xfail", "fail", "xpass"
OBS_OK, OBS_BAD, UNKNOWN, PREDICTED, FLAKY = "observed", "observed-bad", "unknown", \
    "predicted", "flaky"
NOT_TESTED = "not-tested"

STATUS_ORDER = (PASS, XFAIL, OBS_OK, OBS_BAD, FAIL, XPASS, FLAKY, PREDICTED, NOT_TESTED,
                UNKNOWN)

SYMBOL = {
    PASS: "✅", XFAIL: "☑️", FAIL: "❌", XPASS: "⚠️", OBS_OK: "🟢", OBS_BAD: "🟠",
    UNKNOWN: "❔", PREDICTED: "🔮", FLAKY: "🔀", NOT_TESTED: "🚫",
}
# For HTML: glyphs every common text font (DejaVu, Liberation) has; colour carries the rest.
GLYPH = {
    PASS: "✓", XFAIL: "☑", FAIL: "✗", XPASS: "⚠", OBS_OK: "○", OBS_BAD: "●",
    UNKNOWN: "?", PREDICTED: "◇", FLAKY: "≈", NOT_TESTED: "⊘",
}
ASCII = {
    PASS: "ok", XFAIL: "xf", FAIL: "FAIL", XPASS: "XPASS", OBS_OK: "o", OBS_BAD: "o!",
    UNKNOWN: "?", PREDICTED: "pred", FLAKY: "FLAKY", NOT_TESTED: "n/t",
}
MEANING = {
    PASS: "pass: expected stable, was stable",
    XFAIL: "expected failure: a known-bad configuration broke the way it is expected to "
           "(not an alarm)",
    FAIL: "FAIL: expected stable but was not, or broke in an unexpected way",
    XPASS: "XPASS: a known-bad configuration was stable; the expectation is stale",
    OBS_OK: "observed stable; the variant declares no expectation",
    OBS_BAD: "observed unstable; the variant declares no expectation",
    UNKNOWN: "unknown: our infrastructure failed or the run stopped; says nothing about "
             "the configuration",
    PREDICTED: "predicted from the containerd probe; not run on kind",
    FLAKY: "flaky p/n: repeats disagreed; p of n conclusive repeats passed",
    NOT_TESTED: "not tested: the tier ran, but could not exercise what the variant is about "
                "(the cell says why); never a pass",
}
TIMES = "\u00d7"  # the multiplication sign, as in "restarts x3"
ALARMS = frozenset({FAIL, XPASS, FLAKY})
UNTESTED_MARK = "†"
UNTESTED_NOTE = ("outside the Kubernetes range upstream tests this Calico release on; "
                 "untested upstream, not known incompatible")
NO_RESULT = "no result: the run stopped before this cell started"
INTERRUPTED = "interrupted: the run stopped while this cell was running"

# kind's stderr is coloured; ANSI escapes and other C0 controls are noise in every format.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: object) -> str:
    """Cluster text without terminal escapes or control characters (newlines and tabs kept)."""
    return _BIDI.sub("?", _ANSI.sub("", "" if text is None else str(text)))


# What a terminal, a log viewer or a code review would act on rather than show
# (errors.CONTROLS), a tab included here: a table cell is one run of text.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\x80-\x9f]")
_INVISIBLE = re.compile(f"[\t{CONTROLS}]")


# Evidence quotes long cgroup paths and container ids; a whole token past this is not.
TOKEN_LIMIT = 1000


def visible(text: object) -> str:
    """One line of text that cannot drive a terminal: every control shown as ``?``, and no
    100,000-character name echoed back (a token past :data:`TOKEN_LIMIT` is cut)."""
    return bounded(_INVISIBLE.sub("?", clean(text)), TOKEN_LIMIT)


# A reference URL rendered as a link: plain http(s), nothing that could end an autolink,
# an attribute or a table cell (anything else stays text).
SAFE_URL = re.compile(r"https?://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+")


def parse_time(text: object) -> datetime | None:
    """An ISO timestamp from a stored result, or None when it is not one."""
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def cell_seconds(cell: CellResult) -> float | None:
    """How long the cell took, from its own start and finish stamps."""
    start, end = parse_time(cell.started_at), parse_time(cell.finished_at)
    return None if start is None or end is None else max((end - start).total_seconds(), 0.0)


def duration(seconds: float) -> str:
    """``45s``, ``1m30s``, ``1h02m``: a cell's duration at a glance."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


_NICE = {
    Verdict.CLUSTER_FAILS: "cluster fails", Verdict.CONFIG_REJECTED: "config rejected",
    Verdict.CRI_UNAVAILABLE: "CRI unavailable", Verdict.SANDBOX_FAILS: "sandbox fails",
    Verdict.CONTAINER_FAILS: "container fails", Verdict.FLAPPING: "flapping",
    Verdict.STABLE: "stable", Verdict.MISPLACED: "misplaced: outside its pod cgroup",
}


def status(cell: CellResult) -> str:
    if cell.outcome is Outcome.OBSERVED:
        return OBS_OK if cell.verdict is Verdict.STABLE else OBS_BAD
    return {Outcome.PASS: PASS, Outcome.XFAIL: XFAIL, Outcome.FAIL: FAIL,
            Outcome.XPASS: XPASS, Outcome.UNKNOWN: UNKNOWN,
            Outcome.PREDICTED: PREDICTED, Outcome.NOT_TESTED: NOT_TESTED}[cell.outcome]


def is_flagged(cell: CellResult) -> bool:
    """A cell says its configuration is crash-inducing (observed or predicted)."""
    return cell.verdict not in (Verdict.STABLE, Verdict.UNKNOWN) and not cell.not_tested


def _codes(ev: Evidence) -> str:
    return ", ".join(str(c) for c in ev.exit_codes)


def short_fact(cell: CellResult, *, ascii_only: bool = False) -> str:
    """A few words for a grid cell: ``restarts x3, exit 0``, ``never ready: BIRD``."""
    ev, v, times = cell.evidence, cell.verdict, "x" if ascii_only else TIMES
    if v is Verdict.RESTARTS:
        text = f"restarts {times}{ev.restarts}" if ev.restarts else "restarts"
        if cell.subtype == "oom-killed":
            text += ", OOMKilled"
        elif ev.exit_codes:
            text += f", exit {_codes(ev)}"
    elif v is Verdict.NEVER_READY:
        text = "never ready: BIRD" if cell.subtype == "bird" else "never ready"
    elif v is Verdict.NOT_STARTED:
        why = cell.subtype or (ev.reasons[0] if ev.reasons else "")
        text = f"not started: {why}" if why else "not started"
    elif v is Verdict.CONTAINER_EXITS:
        text = f"container exits, exit {_codes(ev)}" if ev.exit_codes else "container exits"
    elif v is Verdict.FLAPPING:
        drops = sum(1 for p in ev.timeline if p.kind == "not-ready")
        text = f"flapping {times}{drops}" if drops else "flapping"
    elif v is Verdict.UNKNOWN:
        text = "no result" if NO_RESULT in ev.notes else "interrupted" \
            if INTERRUPTED in ev.notes else (
            f"unknown: {cell.subtype}" if cell.subtype else "unknown")
    else:
        text = _NICE.get(v, v.value)
    if cell.outcome is Outcome.PREDICTED:
        text += " (predicted)"
    if cell.outcome is Outcome.NOT_TESTED:  # what the tier saw says nothing: not shown
        text = "not tested"
    return text[:60]


def column_label(cell: CellResult) -> str:
    ax = cell.axes
    if ax.tier is Tier.PROBE:
        return f"probe · containerd {ax.containerd}" if ax.containerd else f"probe · {ax.point}"
    if ax.tier is Tier.NODE:
        node = f"node cgroup {ax.cgroup}" if ax.cgroup else "node"
        return f"{node} · containerd {ax.containerd}" if ax.containerd else f"{node} · {ax.point}"
    return f"{ax.calico} · {ax.point}"


def _secs(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:.0f}s" for v in values)


def evidence_lines(cell: CellResult) -> list[str]:
    """The evidence as plain sentences (callers escape for their markup)."""
    ev, out = cell.evidence, list[str]()
    head = f"verdict: {cell.verdict.value}"
    if cell.subtype:
        head += f" ({cell.subtype})"
    head += f"; expected: {cell.expected or 'none declared'}; outcome: {cell.outcome.value}"
    out.append(head)
    if cell.outcome is Outcome.PREDICTED:
        out.append("predicted from the containerd probe tier, not observed on a kind cluster")
    if cell.not_tested:
        out.append(f"not tested: {cell.not_tested}")
    if ev.restarts or ev.restart_times_s:
        line = f"restarts: {ev.restarts}"
        if ev.restart_times_s:
            line += f" at {_secs(ev.restart_times_s)}"
        if ev.restart_interval_s is not None:
            line += f" (every ~{ev.restart_interval_s:.0f}s)"
        out.append(line)
    if ev.first_failure_s is not None:
        out.append(f"first failure after {ev.first_failure_s:.0f}s")
    if ev.exit_codes:
        out.append(f"exit codes: {_codes(ev)}")
    if ev.reasons:
        out.append("reasons: " + ", ".join(ev.reasons))
    if ev.probe_message:
        out.append(f"readiness probe: {clean(ev.probe_message)}")
    if ev.error:
        out.append(f"error: {clean(ev.error).strip()[:600]}")
    for e in top_events(cell):
        out.append(f"event {e}")
    if ev.watched_s:
        out.append(f"watched for {ev.watched_s:.0f}s")
    out.extend(f"note: {n}" for n in ev.notes)
    return out


def top_events(cell: CellResult, limit: int = 5) -> list[str]:
    events = sorted(cell.evidence.events, key=lambda e: -e.count)[:limit]
    return [clean(f"{e.reason} {TIMES}{e.count}: {e.message}" + (f" ({e.object})" if e.object
                                                                   else "")) for e in events]


def config_lines(cell: CellResult) -> list[str]:
    cc, out = cell.config_check, list[str]()
    if cc.status == "not-checked" and not (cc.differences or cc.skipped_patches):
        return out
    line = f"effective config: {cc.status}"
    if cc.containerd_version:
        line += f" (containerd {cc.containerd_version})"
    if cc.kubelet_cgroup_driver:
        line += f"; kubelet cgroupDriver {cc.kubelet_cgroup_driver}"
    out.append(line)
    out.extend(f"differs: {d}" for d in cc.differences)
    out.extend(f"skipped patch: {s}" for s in cc.skipped_patches)
    out.extend(f"probe override: {o}" for o in cc.overrides)
    return out


def failure_message(cell: CellResult) -> str:
    """What a failed test prints: the pod table a platform engineer reads first, then the
    same evidence sentences every report shows, then where the artifacts are."""
    head = f"{cell.cell_id}: {cell.verdict.value}" + (
        f" ({cell.subtype})" if cell.subtype else "") + (
        f", expected {cell.expected}" if cell.expected else "")
    lines = [head]
    if cell.evidence.pods:
        rows = [("POD", "NODE", "RESTARTS Δ", "LAST REASON", "EXIT", "READY")]
        rows += [(p.pod, p.node, str(p.restarts_delta), p.last_reason or "-",
                  "-" if p.exit_code is None else str(p.exit_code), "yes" if p.ready else "no")
                 for p in cell.evidence.pods]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                  for r in rows]
    lines += [f"  {line}" for line in evidence_lines(cell)[1:]]
    lines += [f"  node config differs: {d}" for d in cell.config_check.differences[:5]]
    lines += [f"  {s}" for s in cell.config_check.skipped_patches]
    lines.append(f"  artifacts: {cell.artifacts or '(none)'}")
    return "\n".join(lines)


def crash_heading(matrix: Matrix) -> str:
    """The flagged section's heading, claiming no more than the run's tiers can show."""
    if matrix.cells and all(c.axes.tier is Tier.PROBE for c in matrix.cells):
        return ("Configurations containerd refuses (probe tier: it runs a pod, it cannot "
                "show calico-node restarts)")
    return "Crash-inducing configurations"


def window_text(run: RunMeta) -> str:
    """What the run watched each cell for: a soak on kind, a window in the probe."""
    parts = []
    if run.tier in ("kind", "all") and run.soak_s:
        parts.append(f"soak {run.soak_s:.0f}s")
    if run.tier in ("probe", "all") and run.probe_window_s:
        parts.append(f"probe window {run.probe_window_s:.0f}s")
    return " · ".join(parts)
