"""The probe tier: each variant's effective config under a real containerd, in seconds.

Runs with ``--tier probe`` or ``--tier all`` (probe cells run first, and cells whose
config containerd rejects outright are then predicted on kind without a cluster).
"""

from calico_conformance.catalog import Variant
from calico_conformance.session import CellRunner


def test_containerd_runs_a_pod_with(probe_target: tuple[Variant, str], cc_runner: CellRunner,
                                    repeat_index: int) -> None:
    variant, kind_version = probe_target
    result = cc_runner.run_probe(variant, kind_version, repeat_index)
    cc_runner.judge(result)
