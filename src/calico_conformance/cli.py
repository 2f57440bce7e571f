"""The ``calico-conformance`` console script.

Each concern registers its own subcommand (``register(subparsers)``) so this
module stays a thin dispatcher. Input errors print one line and exit 2; only our
own bugs may print a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import __version__, calibrate, checkcli, cleancli
from . import reportcli as report_commands
from .analyze import cli as analyze_cli
from .errors import ConformanceError, InputError
from .lint import cli as lint_cli
from .node import commands as node_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="calico-conformance",
        description="Which containerd configurations make calico-node unstable? "
        "Offline tools; run the matrix itself with pytest.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lint_cli.register(sub)
    cleancli.register(sub)
    report_commands.register(sub)
    analyze_cli.register(sub)
    node_commands.register(sub)
    calibrate.register(sub)
    checkcli.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"calico-conformance: error: {exc.one_line()}", file=sys.stderr)
        return 2
    except ConformanceError as exc:
        print(f"calico-conformance: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more to say, and no traceback. stdout
        # is pointed at /dev/null so the interpreter's last flush fails quietly too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell reports a writer killed by the signal


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
