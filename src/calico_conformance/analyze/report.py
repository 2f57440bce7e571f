"""What ``analyze`` says: the verdict, what was read, the signatures and where they lead.

:func:`build` gathers it as plain data (the ``--format json`` document); :func:`render_text`
words it for a terminal. Both are pure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import Axes, CellResult, Verdict, to_dict
from ..reporting.facts import evidence_lines
from ..signatures import match
from .advice import next_steps, restarts_by_container
from .engine import Analysis
from .links import Observed, linked, load_observed
from .parsed import Parsed, merge_parts

SCHEMA_VERSION = 2  # 2: variants from stored observations; restarts by container; next steps
# What each lint rule a signature names checks (see lint_rules.py / lint_config_rules.py).
LINT_TITLES = {
    "CC001": "default runtime's SystemdCgroup differs from the kubelet's systemd driver",
    "CC002": "kubelet on cgroupfs while runc uses systemd cgroups",
    "CC009": "misspelt runc option (systemCgroup for SystemdCgroup)",
    "CC010": "sandbox image differs from the node's pinned pause image",
}
EXIT_STABLE, EXIT_UNSTABLE, EXIT_UNREADABLE, EXIT_INCONCLUSIVE = 0, 1, 2, 3


@dataclass(frozen=True)
class Context:
    """What is known beside the paste: stored observations and the repro scenarios."""

    observed: list[Observed]
    repros: list[Any]  # repro.Repro
    notes: tuple[str, ...] = ()


def load_context(clusters: Path, observed_dir: Path) -> Context:
    observed, note = load_observed(observed_dir)
    notes = (note,) if note else ()
    if not clusters.is_dir():
        return Context(observed, [], (*notes, f"no clusters directory at {clusters}: repro "
                                      "scenarios not matched"))
    from ..repro import available, load_repro

    try:
        repros = [load_repro(clusters, r) for r in available(clusters)]
    except InputError as exc:
        return Context(observed, [], (*notes, f"clusters data not usable "
                                      f"({exc.one_line()}): repro scenarios not matched"))
    return Context(observed, repros, notes)


def exit_code(a: Analysis) -> int:
    if a.verdict is Verdict.STABLE:
        return EXIT_STABLE
    return EXIT_INCONCLUSIVE if a.verdict is Verdict.UNKNOWN else EXIT_UNSTABLE


def build(a: Analysis, parsed: Parsed, ctx: Context) -> dict[str, Any]:
    matches = match(a.verdict, a.subtype, a.evidence)
    variants = linked(a.verdict, a.subtype, matches, ctx.observed)
    lint = list(dict.fromkeys(code for m in matches for code in m.lint))
    found = {m.id for m in matches}
    repros = [{"id": r.id, "title": r.title, "status": r.status, "link": r.link}
              for r in ctx.repros if r.symptom.verdict == a.verdict.value
              and (not r.symptom.signatures or found & set(r.symptom.signatures))]
    by_container = restarts_by_container(a.observations)
    worst = sorted(by_container, key=lambda r: -r.restarts)
    pods = list(dict.fromkeys([*(r.pod for r in worst), *(p.pod for p in a.evidence.pods)]))
    containers = [r.container for r in worst if not r.container.startswith("(")]
    steps = next_steps(a.verdict, a.subtype, [str(v["name"]) for v in variants], pods,
                       containers, [str(r["id"]) for r in repros])
    return {
        "schema_version": SCHEMA_VERSION, "verdict": a.verdict.value, "subtype": a.subtype,
        "exit_code": exit_code(a), "snapshot": a.snapshot,
        "thresholds": to_dict(a.thresholds),
        "inputs": [{"path": p, "format": f} for p, f in parsed.formats],
        "parts": [{"where": p.where(), "status": p.status, "what": p.what,
                   **({"sample": p.sample} if p.sample else {})}
                  for p in merge_parts(parsed.parts)],
        "assumed": [*parsed.assumed, *([a.subject] if a.subject else [])],
        "evidence": to_dict(a.evidence),
        "restarts_by_container": [asdict(r) for r in by_container],
        "signatures": [{"id": m.id, "explanation": m.explanation, "detail": m.detail,
                        "references": list(m.references)} for m in matches],
        "variants": variants,
        "lint_rules": [{"code": c, "checks": LINT_TITLES.get(c, "")} for c in lint],
        "repros": repros,
        "notes": list(ctx.notes),
        "next_steps": steps,
    }


def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2) + "\n"


def render_text(doc: dict[str, Any], a: Analysis) -> str:
    head = doc["verdict"] + (f" ({doc['subtype']})" if doc["subtype"] else "")
    out = [f"verdict: {head}", ""]
    out.append("read:")
    for p in doc["parts"]:
        if p["status"] != "not read":
            out.append(f"  {p['where']}: {p['status']}: {p['what']}")
    unread = [p for p in doc["parts"] if p["status"] == "not read"]
    out.append("not read:" if unread else "not read: nothing")
    for p in unread:
        out.append(f"  {p['where']}: {p['what']}" + (f": {p['sample']!r}" if p.get("sample")
                                                     else ""))
    if doc["assumed"]:
        out.append("assumed:")
        out += [f"  {x}" for x in doc["assumed"]]
    cell = CellResult(cell_id="analyze", axes=Axes(calico="-", variant="pasted", point="-"),
                      expected="", verdict=a.verdict, subtype=a.subtype, evidence=a.evidence)
    out += ["", "evidence:"] + [f"  {line}" for line in evidence_lines(cell)[1:]
                                if not line.startswith("watched for")]
    rows = doc["restarts_by_container"]
    if len(rows) > 1 or any(not r["counted"] for r in rows):
        out += ["", "restarts by pod and container:"]
        out += [f"  {r['pod']} {r['container']}{' (init)' if r['init'] else ''}: "
                + (str(r["restarts"]) if r["counted"] else "at least 1 (count not in the paste)")
                for r in rows]
    out += ["", "signatures:" if doc["signatures"] else "signatures: none matched"]
    for s in doc["signatures"]:
        out.append(f"  - {s['explanation']} [{s['id']}: {s['detail']}]")
    if doc["variants"]:
        out += ["", "variants observed like this:"]
        out += [f"  - {v['name']}: {v['observed']}"
                + (f"\n    but {v['otherwise']}" if v["otherwise"] else "")
                for v in doc["variants"]]
    if doc["lint_rules"]:
        out += ["", "lint rules:"] + [f"  - {r['code']}: {r['checks']}"
                                      for r in doc["lint_rules"]]
    if doc["repros"]:
        out += ["", "repro scenarios:"] + [f"  - {r['id']} ({r['status']}): {r['title']} "
                                           f"{r['link']}" for r in doc["repros"]]
    out += [f"note: {n}" for n in doc["notes"]]
    if doc["next_steps"]:
        out += ["", "next:"] + [f"  {i}. {s}" for i, s in enumerate(doc["next_steps"], 1)]
    return "\n".join(out) + "\n"
