"""The node tier, for real: every shipped variant on every node image, timed.

For each (node image, variant) this runs the production entry point
``node.run_node_cell`` and prints the verdict, one line of evidence and the wall time
split into node boot, config (write + containerd restart + image import) and probe
(pod creation + the observation window). Needs root, a running dockerd and the images
from ``calico-conformance nodes build``. ``--json FILE`` keeps every CellResult.

Run: python benchmarks/bench_node.py [--window 20] [--recipes bookworm,trixie]
     [--variants baseline,...] [--manifest /path/to/calico.yaml] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

from calico_conformance.calico import load_documents  # noqa: E402
from calico_conformance.catalog import Catalog  # noqa: E402
from calico_conformance.cells import NodeCell, Target  # noqa: E402
from calico_conformance.clock import SystemClock  # noqa: E402
from calico_conformance.model import to_dict  # noqa: E402
from calico_conformance.node import PodTemplate, backend, parity, run_cell  # noqa: E402
from calico_conformance.node.prober import probe_specs  # noqa: E402
from calico_conformance.node.recipes import load_recipes  # noqa: E402
from calico_conformance.settings import NodeSettings  # noqa: E402

DEFAULT_MANIFEST = ROOT.parent / "shared" / "fixtures" / "calico" / "v3.28.2" / "calico.yaml"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=float, default=20.0, help="observation window, seconds")
    ap.add_argument("--sync", type=float, default=10.0, help="emulated kubelet sync, seconds")
    ap.add_argument("--recipes", default="", help="comma-separated (default: all)")
    ap.add_argument("--variants", default="", help="comma-separated (default: all shipped)")
    ap.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST,
                    help="Calico manifest the exec probes are read from")
    ap.add_argument("--json", type=Path, default=None, help="write every CellResult here")
    ap.add_argument("--markdown-from", type=Path, default=None,
                    help="print the observed table (Markdown) from a --json file and exit")
    args = ap.parse_args()
    if args.markdown_from:
        print(markdown(json.loads(args.markdown_from.read_text())))
        return 0
    nodes = backend()
    reason = nodes.unavailable()
    if reason:
        print(f"node tier unavailable: {reason}")
        return 2
    catalog = Catalog(ROOT / "clusters")
    recipes = load_recipes(ROOT / "clusters")
    specs, grace, source = [], 0, "(none)"
    if args.manifest.is_file():
        specs, grace = probe_specs(load_documents(args.manifest.read_bytes()))
        source = str(args.manifest)
    names = [r for r in (args.recipes.split(",") if args.recipes else recipes)]
    variants = args.variants.split(",") if args.variants else sorted(catalog.variants)
    print(f"exec probes from {source}; window {args.window:g}s, kubelet sync {args.sync:g}s")
    header = (f"{'variant':<34} {'node':<11} {'containerd':<11} {'verdict':<26} "
              f"{'boot':>5} {'config':>6} {'probe':>6} {'wall':>6}")
    print(header)
    print("-" * len(header))
    results = []
    for rname in names:
        recipe = recipes[rname]
        for vname in variants:
            t = time.monotonic()
            res = run_cell(NodeCell(Target(catalog.variants[vname], catalog.kind[recipe.kind]),
                                    recipe.name), nodes, recipe.tag,
                           NodeSettings(window_s=args.window, sync_s=args.sync),
                           parity=parity.load(ROOT / "clusters"),
                           run_id="bench", clock=SystemClock(),
                           pod=PodTemplate(tuple(specs), grace, source))
            wall = time.monotonic() - t
            host = res.config_check.host
            verdict = res.verdict.value + (f" ({res.subtype})" if res.subtype else "")
            print(f"{vname:<34} {rname:<11} {res.axes.containerd:<11} {verdict:<26} "
                  f"{host.get('seconds_boot', '-'):>5} {host.get('seconds_config', '-'):>6} "
                  f"{host.get('seconds_probe', '-'):>6} {wall:6.1f}", flush=True)
            results.append({**to_dict(res), "wall_s": round(wall, 1)})
            if args.json:
                args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


def evidence(cell: dict[str, Any]) -> str:
    """One line: the error for a failure; placement and survival for a stable cell."""
    ev, host = cell["evidence"], cell["config_check"]["host"]
    if cell["verdict"] != "stable":
        return str(ev["error"]).replace("|", "/").replace("\n", " ")[:170]
    notes = " ".join(ev["notes"])
    inside = "yes" if "=no" not in host.get("in_pod_cgroup", "=no") else "no"
    return (f"container inside the pod cgroup: {inside}; survived "
            f"{notes.count('survived (same pid)')}/2 of daemon-reload, containerd restart; "
            "no kubelet kill")


def markdown(cells: list[dict[str, Any]]) -> str:
    images = sorted({(c["axes"]["containerd"], c["axes"]["point"]) for c in cells})
    head = ["variant", *[f"containerd {v} ({p.removeprefix('node-')})" for v, p in images]]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    by = {(c["axes"]["variant"], c["axes"]["point"]): c for c in cells}
    for variant in sorted({c["axes"]["variant"] for c in cells}):
        row = [variant]
        for _v, point in images:
            c = by.get((variant, point))
            row.append("-" if c is None else c["verdict"] + (
                f" ({c['subtype']})" if c["subtype"] else ""))
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "| node image | containerd | runc | systemd | cgroup | PID 1 |",
              "| --- | --- | --- | --- | --- | --- |"]
    for _v, point in images:
        host = next(c["config_check"]["host"] for c in cells if c["axes"]["point"] == point)
        lines.append(f"| {host.get('node_image')} | {host.get('containerd')} | "
                     f"{host.get('runc')} | {host.get('systemd')} | {host.get('cgroup')} | "
                     f"{host.get('pid1')} |")
    lines += ["", "| cell | verdict | evidence | boot / config / probe (s) | wall (s) |",
              "| --- | --- | --- | --- | --- |"]
    for c in cells:
        host = c["config_check"]["host"]
        lines.append(f"| {c['cell_id']} | {c['verdict']} | {evidence(c)} | "
                     f"{host.get('seconds_boot', '-')} / {host.get('seconds_config', '-')} / "
                     f"{host.get('seconds_probe', '-')} | {c.get('wall_s', '-')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
