"""Reported bugs as runnable scenarios: ``clusters/repros/<id>.toml``.

A repro names the report (title, link), the Calico versions and the point it was seen
on, candidate containerd configurations (a variant by name, or a config inline), the
expected symptom (a verdict class plus signatures) and a status (``open``,
``reproduced``, ``fixed-in``). ``pytest --repro ID`` turns it into cells; each result is
then compared with the symptom, per tier, by :data:`TIER_CHECKS` (a new tier registers
its check there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .cells import Cell, Profile, Target, Variant
from .datafile import (
    choice,
    field,
    is_table,
    is_tables,
    known_keys,
    load_toml,
    parse_toml,
    string,
    strs,
)
from .errors import InputError
from .model import CellResult, Tier, Verdict
from .signatures import as_described

STATUSES = ("open", "reproduced", "fixed-in")
REPRO_KEYS = {"id", "title", "link", "status", "fixed_in", "calico", "point", "workers",
              "symptom", "candidates", "soak"}
CANDIDATE_KEYS = {"name", "variant", "inline", "why", "control"}


@dataclass(frozen=True)
class Candidate:
    name: str
    variant: str  # a variant of clusters/containerd, or "" for an inline config
    inline: str = ""
    why: str = ""
    control: bool = False


@dataclass(frozen=True)
class Symptom:
    verdict: str
    signatures: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Repro:
    id: str
    title: str
    link: str
    status: str
    calico: tuple[str, ...]
    point: str
    symptom: Symptom
    candidates: tuple[Candidate, ...]
    path: Path
    fixed_in: str = ""
    workers: int = 1
    soak: str = ""

    def variant_for(self, c: Candidate, known: dict[str, Variant]) -> Variant:
        if c.variant:
            if c.variant not in known:
                raise InputError(f"candidate {c.name}: unknown variant {c.variant!r} (known: "
                                 f"{', '.join(sorted(known))})", path=self.path)
            return known[c.variant]
        parse_toml(c.inline, path=f"{self.path} (candidate {c.name})")
        return Variant(name=f"{self.id}-{c.name}", path=self.path, text=c.inline,
                       description=c.why, references=(self.link,))


def repro_dir(clusters: Path) -> Path:
    return clusters / "repros"


def available(clusters: Path) -> list[str]:
    return sorted(p.stem for p in repro_dir(clusters).glob("*.toml"))


def load_repro(clusters: Path, repro_id: str) -> Repro:
    path = repro_dir(clusters) / f"{repro_id}.toml"
    if not path.is_file():
        raise InputError(f"--repro {repro_id}: no {path} (known: "
                         f"{', '.join(available(clusters)) or 'none'})")
    doc = load_toml(path)
    known_keys(doc, REPRO_KEYS, path, repro_id)
    sym = field(doc, "symptom", path, repro_id, "a table [symptom]", is_table)
    known_keys(sym, {"verdict", "signatures", "description"}, path, "[symptom]")
    cands = field(doc, "candidates", path, repro_id, "an array of tables [[candidates]]",
                  lambda v: is_tables(v) and bool(v))
    candidates = []
    for entry in cands:
        known_keys(entry, CANDIDATE_KEYS, path, "candidate")
        name = string(entry, "name", path, "candidate")
        variant, inline = string(entry, "variant", path, name, ""), string(entry, "inline",
                                                                             path, name, "")
        if bool(variant) == bool(inline):
            raise InputError(f"candidate {name}: give exactly one of variant or inline",
                             path=path)
        control = field(entry, "control", path, name, "true or false",
                        lambda v: isinstance(v, bool), False)
        candidates.append(Candidate(name, variant, inline, string(entry, "why", path, name,
                                                                   ""), control))
    status = choice(doc, "status", STATUSES, path, repro_id, "open")
    fixed_in = string(doc, "fixed_in", path, repro_id, "")
    if status == "fixed-in" and not fixed_in:
        raise InputError(f"{repro_id}: status fixed-in needs fixed_in = \"vX.Y.Z\"", path=path)
    return Repro(
        id=string(doc, "id", path, repro_id), title=string(doc, "title", path, repro_id),
        link=string(doc, "link", path, repro_id), status=status,
        calico=strs(doc, "calico", path, repro_id), point=string(doc, "point", path, repro_id),
        symptom=Symptom(choice(sym, "verdict", {v.value for v in Verdict}, path, "[symptom]"),
                        strs(sym, "signatures", path, "[symptom]"),
                        string(sym, "description", path, "[symptom]", "")),
        candidates=tuple(candidates), path=path, fixed_in=fixed_in,
        workers=field(doc, "workers", path, repro_id, "a whole number >= 0",
                      lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, 1),
        soak=string(doc, "soak", path, repro_id, ""))


def cells(repro: Repro, catalog: object, base: Profile) -> tuple[Cell, ...]:
    """One cell per Calico version and candidate, at the repro's point."""
    from .catalog import Catalog

    assert isinstance(catalog, Catalog)
    points = {c.point.id: c.point for c in base.cells}
    if repro.point not in points:
        matrix = catalog.root / "matrix.toml"
        points.update(catalog.points(load_toml(matrix), matrix))
    if repro.point not in points:
        raise InputError(f"point {repro.point!r} is not in matrix.toml", path=repro.path)
    unknown = [v for v in repro.calico if v not in catalog.calico]
    if unknown:
        raise InputError(f"unknown Calico version {unknown[0]!r}", path=repro.path)
    variants = catalog.variants
    sample = base.cells[0] if base.cells else None
    point = points[repro.point]
    targets = {c.name: Target(repro.variant_for(c, variants), point.kind)
               for c in repro.candidates}
    return tuple(
        Cell(calico=catalog.calico[v], target=targets[c.name], point=point,
             workers=repro.workers, soak_s=sample.soak_s if sample else base.soak_s,
             pod_subnet=sample.pod_subnet if sample else "192.168.0.0/16")
        for v in repro.calico for c in repro.candidates)


# --- comparing results with the symptom, per tier ------------------------------------------

REPRODUCES, NOT_REPRODUCED, NOT_APPLICABLE, INCONCLUSIVE = (
    "reproduces", "does not reproduce", "not applicable", "inconclusive")


def _kind_check(repro: Repro, result: CellResult) -> str:
    from .signatures import match

    if result.verdict is Verdict.UNKNOWN:
        return INCONCLUSIVE
    if result.verdict.value != repro.symptom.verdict:
        return NOT_REPRODUCED
    found = {m.id for m in match(result.verdict, result.subtype, result.evidence)}
    wanted = set(repro.symptom.signatures)
    return REPRODUCES if not wanted or wanted & found else NOT_REPRODUCED


def _probe_check(repro: Repro, result: CellResult) -> str:
    # The probe runs containerd without Kubernetes or Calico: it cannot show calico-node
    # restarts, only whether the config runs a container at all.
    return NOT_APPLICABLE


# A tier that runs a calico-node-like pod under a kubelet (kind, and the node tier's
# emulated kubelet) compares verdicts like kind; a new tier adds its entry here.
TIER_CHECKS: dict[str, Callable[[Repro, CellResult], str]] = {
    Tier.KIND.value: _kind_check, Tier.NODE.value: _kind_check, Tier.PROBE.value: _probe_check}


def judge_result(repro: Repro, result: CellResult) -> str:
    check = TIER_CHECKS.get(result.axes.tier.value)
    return check(repro, result) if check else INCONCLUSIVE


def outcomes(repro: Repro, results: tuple[CellResult, ...] | list[CellResult]
             ) -> list[dict[str, str]]:
    """One row per result of the repro's cells: candidate, tier, Calico, verdict, result."""
    by_variant = {c.variant or f"{repro.id}-{c.name}": c for c in repro.candidates}
    rows = []
    for r in results:
        cand = by_variant.get(r.axes.variant)
        if cand is None or r.subtype == "no-result":
            continue
        rows.append({"candidate": cand.name, "variant": r.axes.variant,
                     "tier": r.axes.tier.value, "calico": r.axes.calico,
                     "verdict": r.verdict.value + (f" ({r.subtype})" if r.subtype else ""),
                     "result": judge_result(repro, r), "control": str(cand.control).lower(),
                     "cell": r.cell_id, "where": r.axes.point, "described": as_described(r)})
    return rows


def _fixed(repro: Repro, rows: list[dict[str, str]]) -> list[str]:
    """Candidates that reproduce on an older Calico and not on a newer one: a fix to confirm."""
    out = []
    order = {v: i for i, v in enumerate(repro.calico)}
    for cand in repro.candidates:
        mine = sorted((r for r in rows if r["candidate"] == cand.name and r["tier"] != "probe"),
                      key=lambda r: order.get(r["calico"], -1))
        seen = [r["calico"] for r in mine if r["result"] == REPRODUCES]
        later = [r["calico"] for r in mine if r["result"] == NOT_REPRODUCED
                 and seen and order.get(r["calico"], -1) > order.get(seen[-1], -1)]
        if seen and later:
            out.append(f"{cand.name}: reproduces on {', '.join(seen)} but no longer on "
                       f"{', '.join(later)} (fixed there?)")
    return out


def summary_lines(repro: Repro, results: tuple[CellResult, ...] | list[CellResult]
                  ) -> list[str]:
    rows = outcomes(repro, results)
    sym = repro.symptom
    lines = [f"repro {repro.id} ({repro.status}): {repro.title}", f"  {repro.link}",
             f"  expected symptom: {sym.verdict}"
             + (f" with {' or '.join(sym.signatures)}" if sym.signatures else "")]
    width = max([len(r["candidate"]) for r in rows] + [9])
    for r in rows:
        control = " (control)" if r["control"] == "true" else ""
        lines.append(f"  {r['candidate']:<{width}}  {r['tier']:<5}  {r['calico']:<8}  "
                     f"{r['result']}: {r['verdict']}{control}")
        if r["tier"] == "node":
            lines.append(f"  {'':<{width}}    {r['described']}")
    hits = sorted({r["candidate"] for r in rows if r["result"] == REPRODUCES})
    lines.append("  reproduce the symptom: " + (", ".join(hits) or "none"))
    if hits and repro.status == "open":
        lines.append(f"  {repro.path.name} says status = \"open\": this run reproduced it; "
                     "record the evidence and set status = \"reproduced\"")
    bad = [r["candidate"] for r in rows if r["control"] == "true" and r["result"] == REPRODUCES]
    if bad:
        lines.append(f"  warning: the control {', '.join(sorted(set(bad)))} shows the symptom "
                     "too: the symptom is not specific to any candidate")
    lines += [f"  {f}" for f in _fixed(repro, rows)]
    return lines


def summary_json(repro: Repro, results: tuple[CellResult, ...] | list[CellResult]) -> str:
    import json

    rows = outcomes(repro, results)
    return json.dumps({"id": repro.id, "status": repro.status, "link": repro.link,
                       "symptom": {"verdict": repro.symptom.verdict,
                                   "signatures": list(repro.symptom.signatures)},
                       "results": rows, "fixed": _fixed(repro, rows)}, indent=2) + "\n"


def write_summary(repro: Repro, results: tuple[CellResult, ...], run_dir: Path) -> Path:
    """``repro.json`` in the run folder: which candidates reproduce, on which tier."""
    from .reporting.store import atomic_write

    return atomic_write(run_dir / "repro.json", summary_json(repro, results))
