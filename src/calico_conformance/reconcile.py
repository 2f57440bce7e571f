"""One answer per config and containerd version, from every source's evidence (issue #20).

"Is my containerd config bad?" got six answers from six commands. Here every source says
what it has (lint's findings, the probe's, the node tier's and kind's observations) and
one rule set decides, saying which source won and why:

- an observation beats a prediction (the developers' guide: lint is a hypothesis until a
  real tier observes it);
- an observation on the cgroup version asked about beats one on the other version (the
  driver mismatch is killed on v2 and not on v1: docs/observed/v2-node-table);
- "not tested" and our own trouble (``unknown``) are never a pass: such a cell is left
  out, and with nothing else the answer is "not judged here".

Pure: callers gather the findings and results (``check`` from files and run folders, the
Markdown report from its own run).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import CellResult, Finding, Matrix, Tier, Verdict

BAD, RISKY, OK, NOT_JUDGED = "bad", "risky", "ok", "not judged here"
# What a verdict says of the config. A misplaced container is killed on cgroup v2 and
# left alone on v1: bad or risky, by the cgroup version the answer is for.
_BAD = {Verdict.RESTARTS, Verdict.NEVER_READY, Verdict.FLAPPING, Verdict.NOT_STARTED,
        Verdict.CLUSTER_FAILS, Verdict.CONFIG_REJECTED, Verdict.CRI_UNAVAILABLE,
        Verdict.SANDBOX_FAILS, Verdict.CONTAINER_FAILS, Verdict.CONTAINER_EXITS}


@dataclass(frozen=True)
class Source:
    """One source's word: ``tier`` (lint, probe, node, kind), where, and its class."""

    tier: str
    where: str
    says: str  # BAD | RISKY | OK
    detail: str
    observed: bool
    cgroup: str = ""  # node cells: the cgroup version it was observed on


@dataclass(frozen=True)
class Answer:
    config: str
    containerd: str
    cgroup: str  # the cgroup version the answer is for
    says: str  # BAD | RISKY | OK | NOT_JUDGED
    fix: str
    decided_by: str  # which source won, and why
    sources: tuple[Source, ...]


def _class(verdict: Verdict, for_cgroup: str) -> str:
    if verdict in _BAD:
        return BAD
    if verdict is Verdict.MISPLACED:
        return BAD if for_cgroup == "v2" else RISKY
    return OK


def observed(result: CellResult, for_cgroup: str) -> Source | None:
    """A cell as evidence, or None when it says nothing about the config."""
    if result.verdict is Verdict.UNKNOWN or result.not_tested:
        return None
    ax = result.axes
    cgroup = ax.cgroup if ax.tier is Tier.NODE else ""
    recipe = ax.point.removeprefix("node-").removesuffix(f"-{ax.backend}")
    where = {Tier.NODE: f"{recipe} node ({ax.backend or 'docker'}), cgroup {cgroup}",
             Tier.PROBE: f"host containerd {ax.containerd}",
             Tier.KIND: f"kind {ax.kind} {ax.point}, Calico {ax.calico}"}[ax.tier]
    verdict = result.verdict.value + (f"/{result.subtype}" if result.subtype else "")
    detail = verdict + (f": {result.evidence.error[:160]}" if result.evidence.error else "")
    return Source(ax.tier.value, where, _class(result.verdict, for_cgroup), detail, True,
                  cgroup)


def predicted(findings: list[Finding] | tuple[Finding, ...]) -> Source:
    """Lint's word: an error that predicts an outcome is bad, a warning risky."""
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity == "warning"]
    if errors:
        f = errors[0]
        detail = f"{f.code}: {f.message[:160]}" + (f" (predicts {f.predicted})"
                                                     if f.predicted else "")
        return Source("lint", f.basis or "rules", BAD, detail, False)
    if warnings:
        f = warnings[0]
        return Source("lint", f.basis or "rules", RISKY, f"{f.code}: {f.message[:160]}", False)
    return Source("lint", "rules", OK, "no finding", False)


def answer(config: str, containerd: str, for_cgroup: str,
           findings: list[Finding] | tuple[Finding, ...],
           results: list[CellResult]) -> Answer:
    """The one answer for ``config`` on ``containerd``, asked for cgroup ``for_cgroup``."""
    seen = [s for s in (observed(r, for_cgroup) for r in results) if s is not None]
    lint = predicted(findings)
    fix = next((f.fix for f in findings if f.severity == "error" and f.fix), "") or next(
        (f.fix for f in findings if f.fix), "")
    matching = [s for s in seen if s.cgroup in ("", for_cgroup)]
    if matching:
        pool, why = matching, f"an observation on cgroup {for_cgroup}"
    elif seen:
        pool, why = seen, f"an observation on another cgroup version (none on {for_cgroup})"
    else:
        pool, why = [lint], "lint's prediction (nothing observed it)"
    worst = min(pool, key=lambda s: (BAD, RISKY, OK).index(s.says))
    says = worst.says
    if not seen and results and says == OK:  # every cell was our trouble or not tested
        says, why = NOT_JUDGED, "no tier could judge it here, and lint has no finding"
    if seen and lint.says != says:
        why += f"; lint said {lint.says}, the observation wins"
    source = worst.tier if worst.tier == "lint" else f"{worst.tier} on the {worst.where}"
    return Answer(config, containerd, for_cgroup, says, fix, f"{source}: {why}",
                  (lint, *seen))


def for_matrix(matrix: Matrix, for_cgroup: str = "v2") -> list[Answer]:
    """One answer per user config and containerd version of a run (the report's block)."""
    out = []
    for name in matrix.run.user_variants:
        cells = [c for c in matrix.cells if c.axes.variant == name]
        for version in sorted({c.axes.containerd for c in cells if c.axes.containerd}):
            mine = [c for c in cells if c.axes.containerd == version]
            findings = next((c.findings for c in mine if c.findings), ())
            out.append(answer(name, version, for_cgroup, findings, mine))
    return out
