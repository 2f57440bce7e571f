"""Time rendering a large matrix in every format and print a table.

4 Calico versions x 12 variants x 4 points x 3 repeats = 576 cell results, each
with restart evidence and a timeline, then 209 variants (10,032 cells).
Run: python benchmarks/bench_render.py
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reporting"))

from reporting_sample import restart_evidence, sample_meta

from calico_conformance.matrixfile import matrix_from_json, matrix_to_json
from calico_conformance.model import (
    Axes,
    CellResult,
    Matrix,
    Outcome,
    Verdict,
)
from calico_conformance.reporting import (
    diff_matrices,
    render_html,
    render_junit,
    render_markdown,
    render_text,
)

CALICO = ["v3.26.4", "v3.26.5", "v3.28.2", "v3.28.5"]
POINTS = ["k8s1.28", "k8s1.30", "k8s1.31", "k8s1.31-ctrd2"]
VARIANTS = [f"variant-{i:03d}" for i in range(12)]
CHOICES = [(Verdict.STABLE, Outcome.PASS), (Verdict.RESTARTS, Outcome.XFAIL),
           (Verdict.RESTARTS, Outcome.FAIL), (Verdict.NEVER_READY, Outcome.OBSERVED)]


def synthetic_matrix(n_cells: int) -> Matrix:
    """4 Calico x N variants x 4 points x 3 repeats: 576 cells is 12 variants, 10,032 is 209."""
    return big_matrix([f"variant-{i:03d}" for i in range(n_cells // 48)])


def big_matrix(variants: list[str] | None = None) -> Matrix:
    cells = []
    ev = restart_evidence("abcde")
    n = 0
    for calico in CALICO:
        for variant in variants or VARIANTS:
            for point in POINTS:
                for repeat in (1, 2, 3):
                    verdict, outcome = CHOICES[n % len(CHOICES)]
                    n += 1
                    cells.append(CellResult(
                        cell_id=f"{calico}-{variant}-{point}",
                        axes=Axes(calico, variant, point, kubernetes=point[3:7],
                                  containerd="1.7.18"),
                        expected="restarts", verdict=verdict, outcome=outcome, repeat=repeat,
                        evidence=ev, started_at="2024-01-01T00:00:00+00:00",
                        finished_at="2024-01-01T00:10:00+00:00"))
    meta = dataclasses.replace(sample_meta(cells, "bench"), repeat=3)
    return Matrix(run=meta, cells=tuple(cells))


def timed(fn: Callable[[], object], rounds: int = 3) -> tuple[float, int]:
    best, size = float("inf"), 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        size = len(out) if isinstance(out, str) else 0
    return best, size


def table(matrix: Matrix) -> None:
    text = matrix_to_json(matrix)
    rows = [
        ("json", lambda: matrix_to_json(matrix)),
        ("markdown", lambda: render_markdown(matrix)),
        ("html", lambda: render_html(matrix)),
        ("junit", lambda: render_junit(matrix)),
        ("text", lambda: render_text(matrix)),
        ("read json", lambda: matrix_from_json(text)),
        ("diff", lambda: diff_matrices(matrix, matrix)),
    ]
    print(f"\n{len(matrix.cells)} cell results")
    print(f"{'format':<10} {'best of 3 (ms)':>15} {'output (KiB)':>13}")
    total = 0.0
    for name, fn in rows:
        secs, size = timed(fn)
        if name in ("json", "markdown", "html", "junit"):  # what a run writes
            total += secs
        print(f"{name:<10} {secs * 1000:>15.1f} {size / 1024:>13.1f}")
    json_mb = len(text.encode()) / 2**20
    print(f"every format written: {total:.2f} s (goal <= 2 s); matrix.json {json_mb:.1f} MiB"
          f" (goal <= 5 MiB): {'meets' if total <= 2 and json_mb <= 5 else 'misses'}")


def main() -> None:
    """Each format at 576 and 10,032 cells, the total against issue 20's goal (all formats
    <= 2 s, matrix.json <= 5 MB at 10,032 cells), and reading matrix.json back."""
    table(big_matrix())
    table(synthetic_matrix(10032))


if __name__ == "__main__":
    main()
