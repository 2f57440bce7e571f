"""The kind tier: one cluster per cell, Calico installed, calico-node soaked.

Cells come from the matrix profile (``--profile``); ids read like
``v3.28.2-systemd-cgroup-off-k8s1.28`` so ``-k`` selects them. Known-bad cells are
strict xfails: they pass when they break the expected way.
"""

from calico_conformance.cells import Cell
from calico_conformance.runner import CellRunner


def test_calico_node_stays_ready(matrix_cell: Cell, cc_runner: CellRunner,
                                 repeat_index: int) -> None:
    result = cc_runner.run(matrix_cell, repeat_index)
    cc_runner.outcome(result)
