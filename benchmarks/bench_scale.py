"""Scale and speed, each figure beside its baseline measured in the same run, as a ratio.

1. API load of one soaking cell: requests and bytes per soak-minute, our watch against a
   loop that lists calico-node pods and events every 5 s.
2. Detection latency: from the restart that decides a cell (in the observation log) to
   the verdict (the soak's end), in soak seconds.
3. Matrix wall time for 8 stand-in cells: sequential, then ``-n 4``, against the ideal
   (longest cell x ceil(8/4)); parallel efficiency = ideal / measured.
4. Early-verdict savings: 8 cells, half crashing, with and without ``--full-soak``.
5. Node tier: the 12 variants of the default profile in real bookworm nodes, sequential
   against ``-n 4`` (needs root, dockerd and ``calico-conformance nodes build``).
6. Report generation at 576 and 10,032 cells, every format.
7. Harness CPU per soak-minute per cell, sampled from /proc while one cell soaks.

Everything but 5 runs against the stand-in cluster (fake kind/docker on PATH, a local API).
Run: python benchmarks/bench_scale.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_render import synthetic_matrix  # noqa: E402

from calico_conformance.catalog import Catalog  # noqa: E402
from calico_conformance.clock import SystemClock  # noqa: E402
from calico_conformance.kind import cluster_name, run_cell  # noqa: E402
from calico_conformance.kube import Kube  # noqa: E402
from calico_conformance.observe import read_jsonl  # noqa: E402
from calico_conformance.reporting.store import write_all  # noqa: E402
from calico_conformance.settings import KindSettings  # noqa: E402
from calico_conformance.tracker import Tracker  # noqa: E402
from kindtier.project import cell_id, make_project  # noqa: E402
from standin.fixture import StandIn  # noqa: E402

SCALE = 0.01  # real seconds per scenario second in the stand-in
EIGHT = {"baseline": "stable", "report-9524": "stable", "sc-never-ready": "stable",
         "sc-flapping": "stable", "systemd-cgroup-off": "restarts-exit0",
         "sc-crashloop": "crashloop-exit1", "sc-oom": "oom", "sc-sandbox": "restarts-exit0"}


def table(head: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))
                     for r in [head, *rows])


def run_suite(project: Path, env: dict[str, str], *args: str) -> float:
    """Wall seconds of one `pytest` run in the project."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "--profile", "standin", "--calico-manifest-dir", str(project / "mirror"),
                    "--ready-grace", "1s", *args], cwd=project, env={**os.environ, **env},
                   capture_output=True, text=True, timeout=900, check=False)
    return time.perf_counter() - t0


def api_load_and_latency(tmp: Path, soak_s: float) -> list[tuple[object, ...]]:
    project = make_project(tmp / "p1", ["baseline", "systemd-cgroup-off"])
    cells = {c.variant.name: c for c in Catalog(project / "clusters").profile("standin").cells}
    rows: list[tuple[object, ...]] = []
    with StandIn(tmp / "si1", scenarios={cells["baseline"].id: "stable",
                                         cells["systemd-cgroup-off"].id: "restarts-exit0"},
                 time_scale=SCALE) as si:
        saved = dict(os.environ)
        os.environ.update(si.env)  # the fake kind/docker, for this in-process cell only
        settings = KindSettings(cache_dir=tmp / "cache", manifest_dir=project / "mirror",
                                soak_s=soak_s, ready_grace_s=soak_s / 2, keep="all")
        cell = cells["baseline"]
        name = cluster_name("bench", cell)
        _, kubeconfig = run_cell(cell, kind_bin=str(si.bin_dir / "kind"), run_id="bench",
                                 cell_dir=tmp / "cells" / cell.id, settings=settings,
                                 clock=SystemClock())
        watch_req, watch_bytes = sum(si.requests(name).values()), si.state.bytes_out[name]
        # The baseline: the same cluster, listed every 5 s (scenario time) for as long.
        assert kubeconfig is not None
        kube = Kube(Path(kubeconfig))
        req0, bytes0 = sum(si.requests(name).values()), si.state.bytes_out[name]
        end = time.monotonic() + soak_s
        while time.monotonic() < end:
            kube.list_pods("kube-system", "k8s-app=calico-node")
            kube.list_events("kube-system")
            time.sleep(5 * SCALE)
        kube.close()
        polled = sum(si.requests(name).values()) - req0
        per_request = (si.state.bytes_out[name] - bytes0) / max(polled, 1)
        minutes = soak_s / SCALE / 60  # soak-minutes in cluster (scenario) time
        poll_req = 2 * 60 / 5  # pods and events, every 5 s: 24 a minute, whatever the host
        rows.append(("1. API requests per soak-minute", f"{watch_req / minutes:.2f}",
                     f"{poll_req:.2f} (poll 5 s)",
                     f"{poll_req / max(watch_req / minutes, 1e-9):.1f}x fewer"))
        rows.append(("1. API bytes per soak-minute", f"{watch_bytes / minutes:.0f}",
                     f"{per_request * poll_req:.0f} (poll 5 s)",
                     f"{per_request * poll_req / max(watch_bytes / minutes, 1e-9):.1f}x fewer"))
        bad = cells["systemd-cgroup-off"]
        result, _ = run_cell(bad, kind_bin=str(si.bin_dir / "kind"), run_id="bench",
                             cell_dir=tmp / "cells" / bad.id,
                             settings=KindSettings(cache_dir=tmp / "cache",
                                                   manifest_dir=project / "mirror",
                                                   soak_s=soak_s, ready_grace_s=soak_s / 2),
                             clock=SystemClock())
        obs = read_jsonl(tmp / "cells" / bad.id / "observations.jsonl")
        times = sorted(t for p in Tracker().feed(obs).pods.values() for t in p.restart_times)
        decided = times[1] if len(times) > 1 else float("nan")  # early_restarts = 2
        latency = result.evidence.watched_s - decided
        rows.append(("2. detection latency (restart -> verdict)",
                     f"{latency * 1000:.0f} ms", f"{5000:.0f} ms (a 5 s poll, on average "
                     f"2500)", f"{2500 / max(latency * 1000, 1):.1f}x sooner"))
        os.environ.clear()
        os.environ.update(saved)
    return rows


def matrix_wall(tmp: Path) -> list[tuple[object, ...]]:
    project = make_project(tmp / "p2", list(EIGHT))
    rows: list[tuple[object, ...]] = []
    with StandIn(tmp / "si2", scenarios={cell_id(v): s for v, s in EIGHT.items()},
                 time_scale=SCALE) as si:
        seq = run_suite(project, si.env, "--run-id", "seq", "--soak", "8s")
        par = run_suite(project, si.env, "--run-id", "par", "--soak", "8s", "-n", "4",
                           "--max-clusters", "4")
        cells = json.loads((project / "reports" / "seq" / "matrix.json").read_text())["cells"]
        longest = max((datetime.fromisoformat(c["finished_at"])
                       - datetime.fromisoformat(c["started_at"])).total_seconds()
                      for c in cells)
        ideal = longest * math.ceil(len(cells) / 4)
        rows.append(("3. 8 stand-in cells, wall s", f"{par:.1f} (-n 4)",
                     f"{seq:.1f} (sequential); ideal {ideal:.1f}",
                     f"efficiency {ideal / par:.2f}; speed-up {seq / par:.1f}x"))
        full = run_suite(project, si.env, "--run-id", "full", "--soak", "8s",
                            "--full-soak")
        rows.append(("4. half crashing, wall s", f"{seq:.1f} (early verdicts)",
                     f"{full:.1f} (--full-soak)", f"{full / seq:.1f}x faster"))
        per_min = soak_cpu(project, si.env)
        rows.append(("7. harness CPU per soak-minute per cell", f"{per_min:.3f} CPU s",
                     "60 CPU s (one core, busy)", f"{per_min / 60 * 100:.2f}% of a core"))
    return rows


def node_tier(tmp: Path, window: str = "10s") -> list[tuple[object, ...]]:
    """The default profile's 12 variants in real bookworm nodes, through the suite itself."""
    from calico_conformance.node import backend

    reason = backend().unavailable()
    if reason:
        return [("5. node tier, 12 variants", "not measured", reason, "-")]
    walls = {}
    shared = ROOT.parent / "shared" / "fixtures" / "calico"  # the exec probes, offline
    manifests = ("--calico-manifest-dir", str(shared)) if shared.is_dir() else ()
    for run_id, extra in (("node-seq", ()), ("node-par", ("-n", "4", "--max-clusters", "4"))):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "--tier", "node", "--node-images", "bookworm", "--node-window",
                               window, "--run-id", run_id, "--reports-dir", str(tmp / "nodes"),
                               *manifests, *extra], cwd=ROOT, capture_output=True,
                              text=True, timeout=1800, check=False)
        walls[run_id] = time.perf_counter() - t0
        if proc.returncode != 0:
            return [("5. node tier, 12 variants", "failed", proc.stdout[-300:], "-")]
    cells = json.loads((tmp / "nodes" / "node-seq" / "matrix.json").read_text())["cells"]
    seq, par = walls["node-seq"], walls["node-par"]
    return [(f"5. node tier, {len(cells)} variants, wall s", f"{par:.1f} (-n 4)",
             f"{seq:.1f} (sequential); window {window}", f"speed-up {seq / par:.1f}x")]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process and all its threads (/proc/PID/stat fields 14, 15)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def soak_cpu(project: Path, env: dict[str, str], sample_s: float = 30.0) -> float:
    """CPU seconds the pytest process spends per real soak-minute of one cell, sampled
    from /proc while it soaks (start-up and tear-down excluded: comparing two whole runs
    drowned the figure in pytest's start-up noise)."""
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--profile", "standin", "--calico-manifest-dir",
                             str(project / "mirror"), "--ready-grace", "1s", "--run-id", "cpu",
                             "--soak", f"{sample_s + 30:.0f}s", "-k", "baseline"],
                            cwd=project, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        log = project / "reports" / "cpu" / "cells"
        while not any(log.rglob("observations.jsonl")) and proc.poll() is None:
            time.sleep(0.1)
        time.sleep(5)  # the watches are established
        before = _cpu_seconds(proc.pid)
        time.sleep(sample_s)
        after = _cpu_seconds(proc.pid)
    finally:
        proc.terminate()  # SIGTERM: the run tears down like Ctrl-C
        proc.wait(timeout=120)
    return (after - before) / (sample_s / 60)


def report_times(tmp: Path) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for cells in (576, 10032):
        matrix = synthetic_matrix(cells)
        t0 = time.perf_counter()
        paths = write_all(matrix, tmp / f"r{cells}")
        took = time.perf_counter() - t0
        html_mb = paths["html"].stat().st_size / 1e6
        json_mb = paths["json"].stat().st_size / 1e6
        rows.append((f"6. every format at {cells} cells",
                     f"{took:.2f} s, JSON {json_mb:.1f} MB, HTML {html_mb:.1f} MB",
                     "goal: <= 2 s, JSON and HTML <= 5 MB at 10,000",
                     "meets" if cells < 10000 or (took <= 2 and max(html_mb, json_mb) <= 5)
                     else "misses"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="reports and API load only")
    args = ap.parse_args()
    rows: list[tuple[object, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        # Reports first: in a process that has not yet run stand-in servers and suites.
        rows += report_times(Path(tmp))
        if not args.quick:
            rows += node_tier(Path(tmp))
        rows += api_load_and_latency(Path(tmp), soak_s=6.0)
        if not args.quick:
            rows += matrix_wall(Path(tmp))
    rows.sort(key=lambda r: int(str(r[0]).split(".")[0]))  # in the order
    print(table(("figure", "ours", "baseline", "ratio"), rows))
    print(f"\nstand-in time scale {SCALE} real s per scenario s; figure 1 counts scenario "
          "(cluster) minutes, figure 7 real minutes of a soak whose events come 100x faster "
          f"than a real cluster's (an upper bound); {os.cpu_count()} CPUs.")


if __name__ == "__main__":
    main()
