"""The node tier: each variant inside a kind-style node (systemd PID 1, containerd as a
unit) built from Debian packages, judged by an emulated kubelet.

Runs with ``--tier node`` or ``--tier all`` (after the probe, before kind). Needs root, a
running dockerd and the node images (``calico-conformance nodes build``); skips with the
reason otherwise.
"""

from calico_conformance.cells import NodeCell
from calico_conformance.runner import CellRunner


def test_calico_node_pod_stays_up_on_node(node_cell: NodeCell, cc_runner: CellRunner,
                                          repeat_index: int) -> None:
    result = cc_runner.run(node_cell, repeat_index)
    cc_runner.outcome(result)
