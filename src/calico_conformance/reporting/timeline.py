"""An inline SVG of readiness and restarts over a cell's soak window.

One lane per calico-node pod: grey until the first readiness report, then green
while Ready and red while not; a red tick per restart and a grey dot per key
event, each with a ``<title>`` tooltip. All text is escaped: pod names and event
messages come from the cluster.
"""

from __future__ import annotations

from html import escape

from ..model import Evidence

WIDTH, LEFT, LANE, TOP, AXIS = 640, 150, 20, 6, 22
COLOURS = {"unknown": "#cfd8dc", "ready": "#43a047", "not-ready": "#e53935"}


def _fmt(seconds: float) -> str:
    return f"{seconds / 60:.1f}m" if seconds >= 120 else f"{seconds:.0f}s"


def render_timeline(ev: Evidence) -> str:
    """``""`` when there is nothing to draw."""
    if not ev.timeline and not ev.restart_times_s:
        return ""
    end = max([ev.watched_s, *(p.t for p in ev.timeline), *ev.restart_times_s, 1.0])
    span = WIDTH - LEFT - 10

    def x(t: float) -> float:
        return LEFT + span * min(max(t, 0.0), end) / end

    pods = list(dict.fromkeys([*(p.pod for p in ev.pods),
                               *(p.pod for p in ev.timeline if p.pod)]))
    lanes = pods or ["calico-node"]
    unassigned = [p for p in ev.timeline if not p.pod]
    height = TOP + LANE * len(lanes) + AXIS
    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
           f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
           f'aria-label="readiness and restarts over {escape(_fmt(end))}">']
    for i, pod in enumerate(lanes):
        y = TOP + i * LANE
        label = pod if len(pod) <= 22 else pod[:21] + "…"
        out.append(f'<text x="4" y="{y + 13}" class="lane">{escape(label)}'
                   f'<title>{escape(pod)}</title></text>')
        points = sorted((p for p in ev.timeline if p.pod == pod or (not pods and not p.pod)),
                        key=lambda p: p.t)
        state, since = "unknown", 0.0
        for p in [*points, None]:
            t = end if p is None else p.t
            if p is None or p.kind in ("ready", "not-ready"):
                if t > since:
                    out.append(f'<rect x="{x(since):.1f}" y="{y + 3}" '
                               f'width="{max(x(t) - x(since), 0.5):.1f}" height="{LANE - 8}" '
                               f'fill="{COLOURS[state]}"><title>{state} {_fmt(since)} to '
                               f'{_fmt(t)}</title></rect>')
                if p is not None:
                    state, since = p.kind, t
        for p in points:
            tip = escape(f"{_fmt(p.t)} {p.kind}" + (f": {p.detail}" if p.detail else ""))
            if p.kind == "restart":
                out.append(f'<path d="M{x(p.t):.1f} {y} v{LANE - 2}" stroke="#b71c1c" '
                           f'stroke-width="2"><title>{tip}</title></path>')
            elif p.kind == "event":
                out.append(f'<circle cx="{x(p.t):.1f}" cy="{y + LANE / 2 - 1}" r="3" '
                           f'fill="#455a64"><title>{tip}</title></circle>')
    if pods and unassigned:
        for p in unassigned:
            tip = escape(f"{_fmt(p.t)} {p.kind}: {p.detail}")
            out.append(f'<circle cx="{x(p.t):.1f}" cy="{TOP + 2}" r="3" fill="#455a64">'
                       f'<title>{tip}</title></circle>')
    if not any(p.kind == "restart" for p in ev.timeline):
        for t in ev.restart_times_s:
            out.append(f'<path d="M{x(t):.1f} {TOP} v{LANE * len(lanes)}" stroke="#b71c1c" '
                       f'stroke-width="2"><title>restart at {_fmt(t)}</title></path>')
    base = TOP + LANE * len(lanes) + 2
    out.append(f'<path d="M{LEFT} {base} H{LEFT + span}" stroke="#607d8b"/>')
    for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
        tx = LEFT + span * frac
        anchor = "end" if frac == 1.0 else "middle" if frac else "start"
        out.append(f'<text x="{tx:.1f}" y="{base + 14}" class="tick" '
                   f'text-anchor="{anchor}">{_fmt(end * frac)}</text>')
    out.append("</svg>")
    return "".join(out)
