"""cgroup v2 VM nodes: boot to CRI ready per image, memory per VM, a v2 cell's wall time,
cells per VM-hour, and two cells side by side (-n 2) against one after another.

    python benchmarks/bench_vm.py                      # boots, memory (about 2 minutes)
    python benchmarks/bench_vm.py --from-run reports/v2-table   # cell walls from a run
    python benchmarks/bench_vm.py --parallel           # -n 2 against sequential (~12 min):
                                                       # one reused VM against two VMs

Needs root, qemu and the VM images (`calico-conformance nodes build --backend vm`).
Goals (issue #18): boot <= 60 s on a quiet machine, a v2 mismatch cell <= 150 s with its
share of the boot, <= 1 GiB per VM.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from calico_conformance.clock import SystemClock  # noqa: E402
from calico_conformance.cri.client import CriClient  # noqa: E402
from calico_conformance.cri.waits import wait_ready  # noqa: E402
from calico_conformance.node.recipes import load_recipes  # noqa: E402
from calico_conformance.node.vm_node import VmBackend  # noqa: E402


def _rss_mib(pid: int) -> tuple[float, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    kib = lambda k: float(fields.get(k, "0 kB").split()[0])  # noqa: E731
    return kib("VmRSS") / 1024, kib("VmHWM") / 1024


def boots() -> list[tuple[str, ...]]:
    rows = []
    vm = VmBackend()
    for name, recipe in load_recipes(ROOT / "clusters").items():
        missing = vm.image_missing(recipe.tag, name)
        if missing:
            rows.append((name, "not measured", missing, "", ""))
            continue
        node = vm.node(recipe.tag, "bench", SystemClock())
        t0 = time.monotonic()
        try:
            node.start()
            ready = time.monotonic() - t0
            cri = CriClient(node.cri_endpoint)
            wait_ready(cri, node.clock, 60)
            cri_ready = time.monotonic() - t0
            cri.close()
            assert node.daemon is not None
            rss, peak = _rss_mib(node.daemon.pid)
            rows.append((name, f"{ready:.1f}", f"{cri_ready:.1f}", f"{rss:.0f}", f"{peak:.0f}"))
        finally:
            node.teardown()
    return rows


def from_run(run: Path) -> list[tuple[str, ...]]:
    matrix = json.loads((run / "matrix.json").read_text())
    rows = []
    for c in matrix["cells"]:
        if c["axes"].get("backend") != "vm":
            continue
        wall = (datetime.fromisoformat(c["finished_at"])
                - datetime.fromisoformat(c["started_at"])).total_seconds()
        host = c["config_check"]["host"]
        reuse = host.get("node_reuse", "fresh boot").split(";")[0]
        rows.append((c["cell_id"], c["verdict"] + (f" ({c['subtype']})" if c["subtype"] else ""),
                     reuse, host.get("seconds_boot", "-"), host.get("seconds_config", "-"),
                     host.get("seconds_probe", "-"), f"{wall:.0f}"))
    return rows


def parallel(project: Path) -> list[tuple[str, ...]]:
    sel = "node-systemd-cgroup-off-trixie-vm or node-baseline-trixie-vm"
    rows = []
    for label, extra in (("sequential", []), ("-n 2 --max-clusters 2",
                                              ["-n", "2", "--max-clusters", "2"])):
        t0 = time.monotonic()
        res = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                              "--tier", "node", "--node-backends", "vm", "-k", sel,
                              "--run-id", f"bench-vm-{label.split()[0].strip('-')}", *extra],
                             cwd=project, capture_output=True, text=True, check=False)
        rows.append((label, f"{time.monotonic() - t0:.0f}", str(res.returncode),
                     res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""))
    return rows


def table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--from-run", type=Path, default=None)
    ap.add_argument("--parallel", action="store_true")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; "
          f"accel {VmBackend().unavailable() or 'qemu present'}\n")
    if args.from_run:
        rows = from_run(args.from_run)
        table(("cell", "verdict", "node", "boot s", "config s", "window+pod s", "wall s"), rows)
        walls = [float(r[-1]) for r in rows]
        if walls:
            print(f"mean v2 cell wall {statistics.mean(walls):.0f} s; "
                  f"cells per VM-hour {3600 / statistics.mean(walls):.1f}")
        return 0
    if args.parallel:
        table(("run (2 v2 cells)", "wall s", "rc", "pytest says"), parallel(ROOT))
        return 0
    table(("image", "READY s", "CRI ready s", "RSS MiB", "peak RSS MiB"), boots())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
