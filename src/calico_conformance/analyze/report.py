"""What ``analyze`` says: the verdict, what was read, the signatures and where they lead.

:func:`build` gathers it as plain data (the ``--format json`` document); :func:`render_text`
words it for a terminal. Both are pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..model import Axes, CellResult, Verdict, to_dict
from ..reporting.facts import evidence_lines
from ..signatures import Match, match
from .engine import Analysis
from .parsed import Parsed, merge_parts

SCHEMA_VERSION = 1
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
    """What the matrix knows, when a ``clusters/`` directory is at hand."""

    variants: dict[str, tuple[str, str]]  # name: (expected verdict, description)
    repros: list[Any]  # repro.Repro
    note: str = ""


def load_context(clusters: Path) -> Context:
    if not clusters.is_dir():
        return Context({}, [], f"no clusters directory at {clusters}: variants and repro "
                               "scenarios not matched")
    from ..catalog import Catalog
    from ..repro import available, load_repro

    try:
        variants = {n: (v.expected, v.description) for n, v in Catalog(clusters).variants.items()}
        repros = [load_repro(clusters, r) for r in available(clusters)]
    except InputError as exc:
        return Context({}, [], f"clusters data not usable ({exc.one_line()}): variants and "
                               "repro scenarios not matched")
    return Context(variants, repros)


def exit_code(a: Analysis) -> int:
    if a.verdict is Verdict.STABLE:
        return EXIT_STABLE
    return EXIT_INCONCLUSIVE if a.verdict is Verdict.UNKNOWN else EXIT_UNSTABLE


def build(a: Analysis, parsed: Parsed, ctx: Context) -> dict[str, Any]:
    matches = match(a.verdict, a.subtype, a.evidence)
    names = list(dict.fromkeys(v for m in matches for v in m.variants))
    if a.unstable:
        names += [n for n, (exp, _) in ctx.variants.items() if exp == a.verdict.value
                  and n not in names]
    variants = [{"name": n, "expected": ctx.variants[n][0], "description": ctx.variants[n][1],
                 "why": _why(n, matches)} for n in names if n in ctx.variants]
    lint = list(dict.fromkeys(code for m in matches for code in m.lint))
    found = {m.id for m in matches}
    repros = [{"id": r.id, "title": r.title, "status": r.status, "link": r.link}
              for r in ctx.repros if r.symptom.verdict == a.verdict.value
              and (not r.symptom.signatures or found & set(r.symptom.signatures))]
    return {
        "schema_version": SCHEMA_VERSION, "verdict": a.verdict.value, "subtype": a.subtype,
        "exit_code": exit_code(a), "snapshot": a.snapshot,
        "thresholds": to_dict(a.thresholds),
        "inputs": [{"path": p, "format": f} for p, f in parsed.formats],
        "parts": [{"where": p.where(), "status": p.status, "what": p.what,
                   **({"sample": p.sample} if p.sample else {})}
                  for p in merge_parts(parsed.parts)],
        "assumed": list(parsed.assumed),
        "evidence": to_dict(a.evidence),
        "signatures": [{"id": m.id, "explanation": m.explanation, "detail": m.detail,
                        "references": list(m.references)} for m in matches],
        "variants": variants,
        "lint_rules": [{"code": c, "checks": LINT_TITLES.get(c, "")} for c in lint],
        "repros": repros,
        "notes": [ctx.note] if ctx.note else [],
    }


def _why(name: str, matches: list[Match]) -> str:
    ids = [m.id for m in matches if name in m.variants]
    return f"signature {', '.join(ids)}" if ids else "expects this verdict class"


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
    out += ["", "signatures:" if doc["signatures"] else "signatures: none matched"]
    for s in doc["signatures"]:
        out.append(f"  - {s['explanation']} [{s['id']}: {s['detail']}]")
    if doc["variants"]:
        out += ["", "matrix variants:"]
        out += [f"  - {v['name']} (expected {v['expected'] or 'nothing declared'}; {v['why']})"
                for v in doc["variants"]]
    if doc["lint_rules"]:
        out += ["", "lint rules:"] + [f"  - {r['code']}: {r['checks']}"
                                      for r in doc["lint_rules"]]
    if doc["repros"]:
        out += ["", "repro scenarios:"] + [f"  - {r['id']} ({r['status']}): {r['title']} "
                                           f"{r['link']}" for r in doc["repros"]]
    out += [f"note: {n}" for n in doc["notes"]]
    return "\n".join(out) + "\n"
