"""Whether a rule's predicted outcome was observed, or comes from the literature only.

Lint's predictions are hypotheses until a real tier observes them (the developers' guide:
observation beats prediction). ``clusters/observed-rules.toml`` records, per rule, the
observations that bore a prediction out: which tier, node image, containerd version and
cgroup version, and when. ``calico-conformance calibrate --write`` adds to it from a run
over the corpus; the cgroup v2 table of issue #18 is recorded by hand. A finding then
says which it is, so a reader can tell an observed kill from an argued one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..datafile import entries, string
from ..model import Finding

FILE = "observed-rules.toml"


def load(clusters: Path | None) -> dict[tuple[str, str], list[str]]:
    """(rule, predicted outcome) -> the observations of it, one line each."""
    if clusters is None or not (clusters / FILE).is_file():
        return {}
    path = clusters / FILE
    out: dict[tuple[str, str], list[str]] = {}
    for i, entry in enumerate(entries(path, "observed"), start=1):
        what = f"observed entry {i}"
        key = (string(entry, "rule", path, what), string(entry, "outcome", path, what))
        out.setdefault(key, []).append(
            f"{string(entry, 'where', path, what)}, {string(entry, 'date', path, what)}")
    return out


def annotate(findings: list[Finding], observed: dict[tuple[str, str], list[str]]
             ) -> list[Finding]:
    """Each finding that predicts an outcome, with its basis."""
    out = []
    for f in findings:
        if not f.predicted:
            out.append(f)
            continue
        seen = observed.get((f.code, f.predicted), [])
        basis = (f"observed: {'; '.join(seen[:2])}" + (f"; and {len(seen) - 2} more"
                                                         if len(seen) > 2 else "")
                 if seen else "from the literature only: "
                 + (f.references[0] if f.references else "no observation yet"))
        out.append(replace(f, basis=basis))
    return out
