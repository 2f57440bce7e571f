"""Probe tier vs kind tier: wall time per shipped variant, as a table.

    python benchmarks/bench_probe.py [--kind v0.24.0] [--window 20s] [--variants a,b]

The kind column is what one kind cell of the default profile costs: cluster create and
Calico rollout (an assumption, labelled as such, overridable with --assume-create and
--assume-rollout) plus the profile's soak, read from
clusters/matrix.toml via Catalog. Needs root and containerd; prints the skip reason
otherwise.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from calico_conformance.catalog import Catalog
from calico_conformance.cells import ProbeCell, Target
from calico_conformance.clock import parse_duration
from calico_conformance.probe import ProbeSettings, probe_available, run_cell

ROOT = Path(__file__).resolve().parent.parent
# ASSUMPTION (not measured here; no Docker on the probe host): kind create ~60 s for one
# control-plane + one worker (the profiles' default), Calico manifest apply until every
# calico-node is Ready ~90 s with images cached.
ASSUMED_CREATE_S = 60.0
ASSUMED_ROLLOUT_S = 90.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", default="v0.24.0", help="kind release whose base config is used")
    ap.add_argument("--window", default="20s", help="probe container window (default 20s)")
    ap.add_argument("--variants", default="", help="comma-separated subset (default: all)")
    ap.add_argument("--clusters", type=Path, default=ROOT / "clusters")
    ap.add_argument("--assume-create", type=float, default=ASSUMED_CREATE_S, metavar="S")
    ap.add_argument("--assume-rollout", type=float, default=ASSUMED_ROLLOUT_S, metavar="S")
    args = ap.parse_args(argv)

    reason = probe_available()
    if reason:
        print(f"probe unavailable on this host: {reason}", file=sys.stderr)
        return 2
    catalog = Catalog(args.clusters)
    kind = catalog.kind[args.kind]
    soak_s = catalog.profile("default").soak_s
    setup_s = args.assume_create + args.assume_rollout
    kind_cell_s = setup_s + soak_s
    names = [n for n in args.variants.split(",") if n] or list(catalog.variants)
    window = parse_duration(args.window, option="--window")

    header = (f"{'variant':36} {'verdict':16} {'outcome':8} {'probe s':>8} "
              f"{'create+rollout s (assumed)':>27} {'soak s':>7} {'kind cell s':>11} "
              f"{'speed-up':>8}")
    print(f"probe: containerd on this host, kind {args.kind} base config, window {window:g}s")
    print(header)
    print("-" * len(header))
    total = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-probe-") as tmp:
        settings = ProbeSettings(workdir=Path(tmp), window_s=window)
        for name in names:
            t0 = time.monotonic()
            r = run_cell(ProbeCell(Target(catalog.variants[name], kind)), settings)
            wall = time.monotonic() - t0
            total += wall
            print(f"{name:36} {r.verdict.value:16} {r.outcome.value:8} {wall:8.1f} "
                  f"{setup_s:27.0f} {soak_s:7.0f} "
                  f"{kind_cell_s:11.0f} {kind_cell_s / wall:7.0f}x")
    print("-" * len(header))
    print(f"{'total':36} {'':16} {'':8} {total:8.1f} {'':27} {'':7} "
          f"{kind_cell_s * len(names):11.0f} {kind_cell_s * len(names) / total:7.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
