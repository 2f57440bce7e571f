"""Offline subcommands: ``report``, ``diff`` and ``merge`` (no cluster needed)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from .analyze.cli import add_threshold_options, thresholds
from .analyze.rejudge import changes_text, describe, rejudge
from .errors import InputError
from .model import to_json
from .reporting.diff import Change, diff_matrices, render_diff_markdown, render_diff_text
from .reporting.merge import merge_runs
from .reporting.store import (
    CELLS_DIR,
    RUN_FILE,
    assemble,
    atomic_write,
    cell_filename,
    load_matrix,
    resolve_run_dir,
    write_all,
)
from .reporting.text import render_text
from .tracker import Thresholds


def _print_paths(paths: dict[str, Path]) -> None:
    for fmt, path in paths.items():
        print(f"{fmt:>8}: {path}")


def check_output(out: Path, own: Path | None) -> None:
    """``-o`` may not corrupt a stored run: not inside a run folder (its ``cells/`` would no
    longer read back), and not onto another run's folder (its ``matrix.json`` would be
    overwritten). ``own`` is the run being re-rendered, which may hold its own output."""
    target = out.resolve()
    mine = own.resolve() if own is not None else None
    for folder in [target, *target.parents]:
        if (folder / RUN_FILE).is_file() and folder != mine:
            where = "is" if folder == target else f"lies inside {folder}, which is"
            raise InputError(f"output directory {where} a run folder; choose a new one",
                             path=out)
        if mine is not None and folder == mine and folder != target:
            raise InputError("output directory lies inside the run being rendered; "
                             "choose a folder outside it", path=out)


def cmd_report(args: argparse.Namespace) -> int:
    run_dir = resolve_run_dir(Path(args.run_dir))
    if not run_dir.is_dir():
        raise InputError("not a run directory", path=run_dir)
    matrix = assemble(run_dir)
    out = Path(args.output) if args.output else run_dir
    if not args.rejudge and (args.max_restarts is not None or args.ready_grace is not None):
        raise InputError("--max-restarts and --ready-grace only apply with --rejudge")
    if args.rejudge:
        th = thresholds(args, Thresholds())
        matrix, changes, kept, used = rejudge(run_dir, th,
                                              grace_given=args.ready_grace is not None)
        out = Path(args.output) if args.output else run_dir / "rejudged"
        if args.output:
            check_output(out, None)
        print(changes_text(changes, kept, describe(used)), end="")
    elif args.output:
        check_output(out, run_dir)
    print(render_text(matrix), end="")
    _print_paths(write_all(matrix, out))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    report = diff_matrices(load_matrix(Path(args.old)), load_matrix(Path(args.new)),
                           ignore_calico=args.across_calico)
    text = render_diff_markdown(report) if args.markdown else render_diff_text(report)
    print(text, end="")
    if report.regressions:
        return 1
    moved = len(report.of(Change.GONE)) + len(report.of(Change.NEW))
    return 1 if args.fail_on_gone_or_new and moved else 0


def cmd_merge(args: argparse.Namespace) -> int:
    out = Path(args.output)
    sources = {resolve_run_dir(Path(d)).resolve() for d in args.run_dirs}
    if out.resolve() in sources:
        raise InputError("the output directory is one of the inputs", path=out)
    meta, cells, matrix = merge_runs([Path(d) for d in args.run_dirs])
    if not args.force:
        check_output(out, None)
    if (out / CELLS_DIR).is_dir():
        if not args.force:
            raise InputError("already holds cell files; pass --force to replace them",
                             path=out)
        shutil.rmtree(out / CELLS_DIR)
    atomic_write(out / RUN_FILE, to_json(meta))
    for cell in cells:
        atomic_write(out / CELLS_DIR / cell_filename(cell.cell_id, cell.repeat), to_json(cell))
    print(render_text(matrix), end="")
    _print_paths(write_all(matrix, out))
    return 0


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("report", help="re-render every report format from a run "
                              "directory's stored cell files (no cluster needed)")
    p.add_argument("run_dir", metavar="RUN_DIR", help="reports/<run-id> or reports/latest")
    p.add_argument("-o", "--output", metavar="OUT",
                   help="write the reports here instead of into RUN_DIR")
    p.add_argument("--rejudge", action="store_true",
                   help="judge every kind cell again from its stored observations.jsonl with "
                   "the thresholds below (no cluster); reports go to RUN_DIR/rejudged")
    add_threshold_options(p, "with --rejudge; the matrix's default is 0")
    p.set_defaults(func=cmd_report)

    d = subparsers.add_parser("diff", help="compare a baseline matrix with a new one as a "
                              "table (cell, before, after, change); exit 1 on regressions")
    d.add_argument("old", metavar="OLD", help="baseline matrix.json or run directory")
    d.add_argument("new", metavar="NEW", help="new matrix.json or run directory")
    d.add_argument("--markdown", action="store_true", help="print Markdown (PR comment)")
    d.add_argument("--across-calico", action="store_true",
                   help="match cells by variant and point, ignoring the Calico version "
                   "(qualifying a new Calico release against the previous one)")
    d.add_argument("--fail-on-gone-or-new", action="store_true",
                   help="exit 1 also when a cell is in only one of the two matrices "
                   "(a cell that stopped being tested is not a pass)")
    d.set_defaults(func=cmd_diff)

    m = subparsers.add_parser("merge", help="merge shard/machine run directories into one")
    m.add_argument("run_dirs", metavar="DIR", nargs="+", help="run directories to merge")
    m.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="directory for the merged run (run.json, cells/, reports)")
    m.add_argument("--force", action="store_true", help="replace OUT's existing cell files")
    m.set_defaults(func=cmd_merge)
