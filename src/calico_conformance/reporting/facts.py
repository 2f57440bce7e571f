"""What every report format says about one cell, worded once.

Markdown, HTML, JUnit and the terminal grid must agree on what a cell *is*; they
differ only in markup. So the status classes, symbols, short facts and evidence
lines live here and the renderers only decorate them.
"""

from __future__ import annotations

import re

from ..model import CellResult, Evidence, Outcome, Tier, Verdict

# Display status: the outcome, with OBSERVED split by verdict so "no expectation,
# but it restarted" is visible without pretending to be an alarm.
PASS, XFAIL, FAIL, XPASS = "pass", "xfail", "fail", "xpass"
OBS_OK, OBS_BAD, UNKNOWN, PREDICTED, FLAKY = "observed", "observed-bad", "unknown", \
    "predicted", "flaky"

STATUS_ORDER = (PASS, XFAIL, OBS_OK, OBS_BAD, FAIL, XPASS, FLAKY, PREDICTED, UNKNOWN)

SYMBOL = {
    PASS: "✅", XFAIL: "☑️", FAIL: "❌", XPASS: "⚠️", OBS_OK: "🟢", OBS_BAD: "🟠",
    UNKNOWN: "❔", PREDICTED: "🔮", FLAKY: "🔀",
}
# For HTML: glyphs every common text font (DejaVu, Liberation) has; colour carries the rest.
GLYPH = {
    PASS: "✓", XFAIL: "☑", FAIL: "✗", XPASS: "⚠", OBS_OK: "○", OBS_BAD: "●",
    UNKNOWN: "?", PREDICTED: "◇", FLAKY: "≈",
}
ASCII = {
    PASS: "ok", XFAIL: "xf", FAIL: "FAIL", XPASS: "XPASS", OBS_OK: "o", OBS_BAD: "o!",
    UNKNOWN: "?", PREDICTED: "pred", FLAKY: "FLAKY",
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
}
TIMES = "\u00d7"  # the multiplication sign, as in "restarts x3"
ALARMS = frozenset({FAIL, XPASS, FLAKY})
UNTESTED_MARK = "†"
UNTESTED_NOTE = ("outside the Kubernetes range upstream tests this Calico release on; "
                 "untested upstream, not known incompatible")
NO_RESULT = "no result: the run stopped before this cell finished"

# kind's stderr is coloured; ANSI escapes and other C0 controls are noise in every format.
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: str) -> str:
    """Cluster text without terminal escapes or control characters (newlines and tabs kept)."""
    return _ANSI.sub("", text)


_NICE = {
    Verdict.CLUSTER_FAILS: "cluster fails", Verdict.CONFIG_REJECTED: "config rejected",
    Verdict.CRI_UNAVAILABLE: "CRI unavailable", Verdict.SANDBOX_FAILS: "sandbox fails",
    Verdict.CONTAINER_FAILS: "container fails", Verdict.FLAPPING: "flapping",
    Verdict.STABLE: "stable",
}


def status(cell: CellResult) -> str:
    if cell.outcome is Outcome.OBSERVED:
        return OBS_OK if cell.verdict is Verdict.STABLE else OBS_BAD
    return {Outcome.PASS: PASS, Outcome.XFAIL: XFAIL, Outcome.FAIL: FAIL,
            Outcome.XPASS: XPASS, Outcome.UNKNOWN: UNKNOWN,
            Outcome.PREDICTED: PREDICTED}[cell.outcome]


def is_flagged(cell: CellResult) -> bool:
    """A cell says its configuration is crash-inducing (observed or predicted)."""
    return cell.verdict not in (Verdict.STABLE, Verdict.UNKNOWN)


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
        text = "no result" if NO_RESULT in ev.notes else (
            f"unknown: {cell.subtype}" if cell.subtype else "unknown")
    else:
        text = _NICE.get(v, v.value)
    if cell.outcome is Outcome.PREDICTED:
        text += " (predicted)"
    return text[:60]


def column_label(cell: CellResult) -> str:
    ax = cell.axes
    if ax.tier is Tier.PROBE:
        return f"probe · containerd {ax.containerd}" if ax.containerd else f"probe · {ax.point}"
    if ax.tier is Tier.NODE:
        return f"node · containerd {ax.containerd}" if ax.containerd else f"node · {ax.point}"
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
