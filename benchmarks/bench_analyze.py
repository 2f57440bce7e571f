"""`analyze` on 1 MiB of each pathological shape (issue 22): time per MiB, to show every
parser stays linear in its input. Run: python benchmarks/bench_analyze.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from calico_conformance.analyze.engine import analyze
from calico_conformance.analyze.sniff import parse_input
from calico_conformance.errors import InputError

MIB = 1024 * 1024
SHAPES = {
    "spaces inside a describe value": "Name:   calico-node-x\nStatus:   Running\nMessage:   a"
                                      + " " * MIB + "b\n",
    "tabs inside a describe value": "Name:   calico-node-x\nMessage:\t" + "\t" * MIB + "b\n",
    "spaces inside an event row": "  Warning  Unhealthy  5m  kubelet  Readiness probe failed:"
                                  + " " * MIB + "x\n",
    "spaces inside a table row": "calico-node-x   0/1   Running   3   " + " " * MIB + "5m\n",
    "a line of spaces": " " * MIB + "x\n",
    "a run of digits": "Restart Count:  " + "9" * MIB + "\n",
    "a run of word characters": "a" * MIB + "\n",
    "many short lines": "x\n" * (MIB // 2),
    "many table rows": "calico-node-x   0/1   CrashLoopBackOff   3   5m\n" * (MIB // 48),
    "many event rows": "  Warning  BackOff  5m (x3 over 9m)  kubelet  Back-off restarting failed "
                       "container\n" * (MIB // 80),
}


def main() -> None:
    print(f"{'shape':<34} {'input (KiB)':>11} {'s per MiB':>10}  outcome")
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in SHAPES.items():
            path = Path(tmp) / "paste.txt"
            path.write_text(text)
            t0 = time.perf_counter()
            try:
                outcome = analyze(parse_input(str(path))).verdict.value
            except InputError as exc:
                outcome = f"refused: {exc.message[:40]}"
            secs = time.perf_counter() - t0
            size = len(text.encode()) / MIB
            print(f"{name:<34} {size * 1024:>11.0f} {secs / size:>10.2f}  {outcome}")


if __name__ == "__main__":
    main()
