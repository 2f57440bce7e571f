"""The probe tier: each variant's effective config under a real containerd, in seconds.

Runs with ``--tier probe`` or ``--tier all`` (probe cells run first, and cells whose
config containerd rejects outright are then predicted on kind without a cluster).
"""

from calico_conformance.cells import ProbeCell
from calico_conformance.runner import CellRunner


def test_containerd_runs_a_pod_with(probe_cell: ProbeCell, cc_runner: CellRunner,
                                    repeat_index: int) -> None:
    result = cc_runner.run(probe_cell, repeat_index)
    cc_runner.outcome(result)
