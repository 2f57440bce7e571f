"""The kind tier's own cost and speed, measured against the stand-in cluster.

For each scenario this drives the production cell runner (kindtier.run_cell: fake
kind/docker on PATH, the local Kubernetes API) and prints: wall time of the cell,
how much of the soak was watched before the verdict (early stop), when the verdict
came in scenario seconds, and the API load by verb. No Docker needed.

Run: python benchmarks/bench_kind_standin.py [--time-scale 0.01] [--soak 6]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from calico_conformance.catalog import Catalog  # noqa: E402
from calico_conformance.clock import SystemClock  # noqa: E402
from calico_conformance.kind import cluster_name, run_cell  # noqa: E402
from calico_conformance.settings import KindSettings  # noqa: E402
from kindtier.project import make_project  # noqa: E402
from standin.fixture import StandIn  # noqa: E402

CASES = [("baseline", "stable"), ("systemd-cgroup-off", "restarts-exit0"),
         ("sc-crashloop", "crashloop-exit1"), ("sc-never-ready", "never-ready-bird"),
         ("sc-sandbox", "sandbox-fails"), ("sc-gone", "gone-410"),
         ("runsc-default-no-shim", "kind-create-fails")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-scale", type=float, default=0.01,
                    help="real seconds per scenario second")
    ap.add_argument("--soak", type=float, default=6.0, help="soak window, real seconds")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp) / "p", [v for v, _ in CASES])
        cells = {c.variant.name: c for c in
                 Catalog(project / "clusters").profile("standin").cells}
        scenarios = {c.id: s for v, s in CASES for c in [cells[v]]}
        with StandIn(Path(tmp) / "si", scenarios=scenarios,
                     time_scale=args.time_scale) as si:
            os.environ.update(si.env)
            settings = KindSettings(cache_dir=Path(tmp) / "cache",
                                    manifest_dir=project / "mirror", soak_s=args.soak,
                                    ready_grace_s=args.soak / 2)
            for variant, scenario in CASES:
                cell = cells[variant]
                t0 = time.perf_counter()
                result, _ = run_cell(cell, kind_bin=str(si.bin_dir / "kind"), run_id="bench",
                                     cell_dir=Path(tmp) / "cells" / cell.id,
                                     settings=settings, clock=SystemClock())
                wall = time.perf_counter() - t0
                req = si.requests(cluster_name("bench", cell))
                watched = result.evidence.watched_s
                rows.append((
                    scenario, f"{result.verdict.value}/{result.subtype}"[:34], f"{wall:.2f}",
                    f"{watched:.2f}/{args.soak:.0f}",
                    f"{watched / args.time_scale:.0f}" if watched else "-",
                    sum(n for k, n in req.items() if k.startswith("watch ")),
                    sum(n for k, n in req.items() if k.startswith("list ")),
                    sum(n for k, n in req.items() if k.startswith("patch ")),
                    sum(req.values())))
    head = ("scenario", "verdict", "cell wall s", "watched/soak s", "verdict at scen. s",
            "watch req", "list req", "apply req", "all req")
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths, strict=True)))
    print(f"\ntime scale {args.time_scale} real s per scenario s; the stand-in's restart "
          f"scenarios kill calico-node every 20 scenario s, so two restarts take ~40 s "
          f"of cluster time on a real node.")


if __name__ == "__main__":
    main()
