"""``calico-conformance analyze FILE... [-]``: judge pasted kubectl output.

Exit codes: 0 stable, 1 unstable, 2 unreadable input (one line naming the file and
line), 3 read but inconclusive (``unknown``: e.g. not Ready, but too young to say).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from ..clock import parse_duration
from ..errors import InputError
from ..reporting.facts import visible
from ..tracker import SNAPSHOT, Thresholds
from .engine import analyze
from .parsed import Parsed
from .report import build, exit_code, load_context, render_json, render_text
from .sniff import parse_input


def thresholds(args: argparse.Namespace, base: Thresholds) -> Thresholds:
    """``--max-restarts N`` (unstable above N) and ``--ready-grace`` over ``base``."""
    th = base
    if args.max_restarts is not None:
        if args.max_restarts < 0:
            raise InputError("--max-restarts must be 0 or more")
        th = dataclasses.replace(th, min_restarts=args.max_restarts + 1,
                                 shown_termination_counts=False)
    if args.ready_grace is not None:
        th = dataclasses.replace(th, ready_grace_s=parse_duration(args.ready_grace,
                                                                  option="--ready-grace"))
    return th


def add_threshold_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--max-restarts", type=int, metavar="N", default=None,
                   help=f"restarts tolerated before a pod counts as restarting ({what})")
    p.add_argument("--ready-grace", metavar="DURATION", default=None,
                   help="how long calico-node may take to become Ready, e.g. 5m (default 5m)")


def run(args: argparse.Namespace) -> int:
    names = args.files or ["-"]
    parsed = Parsed()
    for name in names:
        parsed.extend(parse_input(name))
    snapshot = bool(parsed.pods or parsed.events or parsed.rows)
    result = analyze(parsed, thresholds(args, SNAPSHOT if snapshot else Thresholds()))
    doc = build(result, parsed, load_context(Path(args.clusters_dir), Path(args.observed_dir)))
    if args.format == "json":
        sys.stdout.write(render_json(doc))
    else:  # a paste is anyone's text: nothing in it may drive the reader's terminal
        sys.stdout.write("".join(visible(line) + "\n"
                                 for line in render_text(doc, result).splitlines()))
    return exit_code(result)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "analyze", help="judge pasted kubectl output (describe pod, get pods/events tables, "
        "-o json|yaml) or an observations.jsonl with the matrix's verdict engine; exit 0 "
        "stable, 1 unstable, 2 unreadable, 3 inconclusive")
    p.add_argument("files", metavar="FILE", nargs="*",
                   help="inputs, any mix, format detected by content; - or none: stdin")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--clusters-dir", default="clusters", metavar="DIR",
                   help="matrix data, to name matching repro scenarios")
    p.add_argument("--observed-dir", default="docs/observed", metavar="DIR",
                   help="stored runs (DIR/*/matrix.json) whose observed cells name the "
                   "variants that behave like the paste (default docs/observed)")
    add_threshold_options(p, "snapshot default 1: a count covers the pod's whole life")
    p.set_defaults(func=run)
