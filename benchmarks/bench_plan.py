"""How long `pytest --plan` takes per profile (no cluster): cells, seconds, ms/cell.

Run: python benchmarks/bench_plan.py [clusters-dir]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from calico_conformance.catalog import Catalog
from calico_conformance.datafile import load_toml
from calico_conformance.plan import write_plan


def main() -> None:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent.parent / "clusters"
    profiles = list(load_toml(root / "matrix.toml").get("profiles", {}))
    print(f"{'profile':<12} {'cells':>6} {'seconds':>9} {'ms/cell':>9}")
    for name in profiles:
        catalog = Catalog(root)  # fresh: no cached effective configs between profiles
        start = time.perf_counter()
        cells = catalog.profile(name).cells
        with tempfile.TemporaryDirectory() as tmp:
            write_plan(cells, Path(tmp) / "plan", cluster_name=lambda c: f"cc-{c.id}"[:40])
        elapsed = time.perf_counter() - start
        per = 1000 * elapsed / len(cells) if cells else 0.0
        print(f"{name:<12} {len(cells):>6} {elapsed:>9.3f} {per:>9.2f}")


if __name__ == "__main__":
    main()
