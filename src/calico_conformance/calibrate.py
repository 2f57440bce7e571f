"""Calibration: what the node tier observed for each real-world config, beside what lint
predicted for it (issue #19).

Lint's predicted outcomes are hypotheses until a real tier observes them. A node run
over the corpus (``pytest --tier node --variant tests/corpus/configs --node-images '*'``)
gives one observation per config and node image; this command lints the same file as
that node's whole config (standalone, for that containerd version and a systemd-driver
kubelet) and puts the two side by side: agree, disagree, or not judged
(our trouble, never a pass). Every disagreement carries its explanation from the notes
file, or says it has none. ``--write`` renders ``CALIBRATION.md`` and ``calibration.json``;
``--check`` fails when any verdict differs from a committed table, so a change in what
containerd does, or in the harness, is seen in CI.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .datafile import load_toml, read_text
from .errors import InputError
from .lint import lint_file
from .model import CellResult, Finding, Tier, Verdict
from .reporting.store import atomic_write, read_cells, read_meta, resolve_run_dir

SCHEMA_VERSION = 1
FAILS = {Verdict.CONFIG_REJECTED.value, Verdict.CRI_UNAVAILABLE.value,
         Verdict.SANDBOX_FAILS.value, Verdict.CONTAINER_FAILS.value}
# How lint's predicted outcomes (kind's words) read on the node tier.
MEANS = {Verdict.CLUSTER_FAILS.value: FAILS, Verdict.RESTARTS.value: {Verdict.RESTARTS.value},
         "": {Verdict.STABLE.value}}


@dataclass(frozen=True)
class Row:
    config: str
    node_image: str
    containerd: str
    cgroup: str
    node: str  # the node tier's verdict[/subtype]
    lint: str  # lint's prediction: "rule predicted", or "" for none
    rules: tuple[str, ...]  # every error/warning rule that fired
    agreement: str  # agree | disagree | not judged
    explanation: str
    evidence: str


def prediction(findings: list[Finding]) -> tuple[str, str]:
    """(the predicted outcome, the rule) of the most consequential error finding."""
    errors = [f for f in findings if f.severity == "error" and f.predicted]
    for want in (Verdict.CLUSTER_FAILS.value, Verdict.RESTARTS.value):
        for f in errors:
            if f.predicted == want:
                return want, f.code
    return "", ""


def agreement(predicted: str, result: CellResult) -> str:
    if result.verdict is Verdict.UNKNOWN or result.not_tested:
        return "not judged"
    seen = result.verdict.value
    if seen in MEANS.get(predicted, {predicted}):
        return "agree"
    if (predicted == Verdict.RESTARTS.value and result.verdict is Verdict.MISPLACED
            and result.axes.cgroup == "v1"):
        return "agree"  # the kill needs cgroup v2 (docs/observed/v2-node-table)
    return "disagree"


def row(result: CellResult, path: Path, notes: dict[str, str]) -> Row:
    ax = result.axes
    findings = lint_file(path, containerd_version=ax.containerd, kubelet_cgroup_driver="systemd")
    predicted, rule = prediction(findings)
    node = result.verdict.value + (f"/{result.subtype}" if result.subtype else "")
    agree = agreement(predicted, result)
    key = f"{ax.variant}@{ax.point.removeprefix('node-')}"
    explanation = notes.get(key) or notes.get(ax.variant, "")
    if agree == "disagree" and not explanation:
        explanation = "unexplained"
    recipe = ax.point.removeprefix("node-")
    return Row(ax.variant, recipe, ax.containerd, ax.cgroup, node,
               f"{rule} {predicted}" if rule else "", tuple(sorted(
                   {f.code for f in findings if f.severity in ("error", "warning")})),
               agree, explanation, (result.evidence.error or result.not_tested)[:240])


def rows(run_dir: Path, corpus: Path, notes: dict[str, str]) -> list[Row]:
    out = []
    for _path, result in read_cells(run_dir):
        if result.axes.tier is not Tier.NODE:
            continue
        path = corpus / f"{result.axes.variant}.toml"
        if not path.is_file():
            continue  # a variant that is not in the corpus
        out.append(row(result, path, notes))
    if not out:
        raise InputError(f"no node cell of a config in {corpus}", path=run_dir)
    return sorted(out, key=lambda r: (r.config, r.node_image))


def load_notes(path: Path | None) -> dict[str, str]:
    if path is None or not path.exists():
        return {}
    doc = load_toml(path)
    bad = [k for k, v in doc.items() if not isinstance(v, str)]
    if bad:
        raise InputError(f"{bad[0]!r} must be a string (why lint and the node disagree)",
                         path=path)
    return {k: v for k, v in doc.items() if isinstance(v, str)}


def render_markdown(table: list[Row], source: str) -> str:
    """The committed table (pure)."""
    counts = {a: sum(r.agreement == a for r in table) for a in ("agree", "disagree",
                                                                 "not judged")}
    lines = ["# Calibration: lint's predictions against the node tier's observations", "",
             f"Source: {source}. {len(table)} cells: {counts['agree']} agree, "
             f"{counts['disagree']} disagree, {counts['not judged']} not judged. "
             "Lint reads each file as the node's whole config, for the node's containerd "
             "and a systemd-driver kubelet; the node tier ran it as-is. A disagreement is "
             "explained in `docs/calibration-notes.toml`, or marked unexplained.", "",
             "| config | node image | containerd | cgroup | node verdict | lint predicts "
             "| rules | agreement | explanation |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        lines.append(f"| `{r.config}` | {r.node_image} | {r.containerd} | {r.cgroup} | "
                     f"{r.node} | {r.lint or 'stable'} | {', '.join(r.rules) or '-'} | "
                     f"{r.agreement} | {r.explanation.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def to_json(table: list[Row], source: str) -> str:
    return json.dumps({"schema_version": SCHEMA_VERSION, "source": source,
                       "rows": [asdict(r) for r in table]}, indent=1) + "\n"


def changed(table: list[Row], committed: Path) -> list[str]:
    """Cells whose node verdict or lint prediction differs from the committed table."""
    try:
        data: dict[str, Any] = json.loads(read_text(committed))
        old = {(r["config"], r["node_image"]): r for r in data["rows"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"not a calibration table: {exc}", path=committed) from exc
    out = []
    for r in table:
        was = old.get((r.config, r.node_image))
        if was is None:
            out.append(f"{r.config} on {r.node_image}: new ({r.node})")
        elif (was["node"], was["lint"]) != (r.node, r.lint):
            out.append(f"{r.config} on {r.node_image}: node {was['node']} -> {r.node}, "
                       f"lint {was['lint'] or 'stable'} -> {r.lint or 'stable'}")
    return out


MARK = "# --- written by `calico-conformance calibrate --write`: everything below ---"


def observed_rules(table: list[Row], date: str) -> str:
    """TOML entries for :mod:`.lint.provenance`: each rule prediction node cells bore out,
    one entry per rule, node image and verdict, with how many corpus configs showed it."""
    seen: dict[tuple[str, str, str, str, str, str], int] = {}
    for r in table:
        if r.agreement == "agree" and r.lint:
            rule, outcome = r.lint.split(" ", 1)
            key = (rule, outcome, r.node_image, r.containerd, r.cgroup, r.node)
            seen[key] = seen.get(key, 0) + 1
    out = [MARK]
    for (rule, outcome, node, ctrd, cgroup, verdict), n in seen.items():
        where = (f"node tier, node {node} (containerd {ctrd}), cgroup {cgroup}: {verdict} on "
                 f"{n} corpus config{'s' if n > 1 else ''} (docs/CALIBRATION.md)")
        out += ["", "[[observed]]", f'rule = "{rule}"', f'outcome = "{outcome}"',
                f"where = {json.dumps(where)}", f'date = "{date}"']
    return "\n".join(out) + "\n"


def write_observed(path: Path, table: list[Row], date: str) -> None:
    kept = read_text(path).split(MARK)[0].rstrip("\n") if path.is_file() else ""
    atomic_write(path, (kept + "\n\n" if kept else "") + observed_rules(table, date))


def cmd_calibrate(args: argparse.Namespace) -> int:
    run_dir = resolve_run_dir(Path(args.run))
    table = rows(run_dir, Path(args.corpus), load_notes(Path(args.notes)))
    source = args.source or f"run {run_dir.name}"
    if args.write:
        out = Path(args.write)
        atomic_write(out / "CALIBRATION.md", render_markdown(table, source))
        atomic_write(out / "calibration.json", to_json(table, source))
        date = read_meta(run_dir).started_at[:10]
        write_observed(Path(args.rules), table, date)
    for r in table:
        if r.agreement != "agree":
            print(f"{r.agreement}: {r.config} on {r.node_image} ({r.containerd}, {r.cgroup}): "
                  f"node {r.node}, lint {r.lint or 'stable'}: {r.explanation}")
    print(f"{len(table)} cells: {sum(r.agreement == 'agree' for r in table)} agree")
    if args.check:
        diffs = changed(table, Path(args.check))
        for line in diffs:
            print(f"changed: {line}")
        if diffs:
            print(f"{len(diffs)} verdicts differ from {args.check}")
            return 1
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("calibrate", help="lint's predictions beside a node run's "
                              "observations, for every config of a corpus")
    p.add_argument("run", help="the node run's folder (reports/<run>)")
    p.add_argument("--corpus", default="tests/corpus/configs",
                   help="the configs the run was given (default: %(default)s)")
    p.add_argument("--notes", default="docs/calibration-notes.toml",
                   help="why lint and the node disagree, per config (default: %(default)s)")
    p.add_argument("--write", metavar="DIR", help="write CALIBRATION.md and calibration.json")
    p.add_argument("--check", metavar="JSON", help="fail when a verdict differs from this "
                   "committed table")
    p.add_argument("--source", default="", help="what the table says it comes from")
    p.add_argument("--rules", default="clusters/observed-rules.toml",
                   help="with --write: where lint learns which predictions were observed "
                        "(default: %(default)s)")
    p.set_defaults(func=cmd_calibrate)
