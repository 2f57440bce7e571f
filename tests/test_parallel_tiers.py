"""The probe and node tiers under xdist (``-n``), for real: one run folder, one matrix,
cell for cell what the sequential run says, and nothing of either run left behind.
(The kind tier's xdist and shard tests run against the stand-in: tests/kindtier.)"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from tests.node.conftest import built_image

from calico_conformance.node.docker import find_docker
from calico_conformance.node.recipes import load_recipes
from calico_conformance.probe import probe_available
from matrixdoc import read_matrix

CLUSTERS = Path(__file__).resolve().parent.parent / "clusters"


def verdicts(run_dir: Path) -> dict[str, tuple[str, str]]:
    matrix = read_matrix(run_dir / "matrix.json")
    assert matrix["complete"] is True
    return {c["cell_id"]: (c["verdict"], c["outcome"]) for c in matrix["cells"]}


def seq_and_par(suite: pytest.Pytester, *args: str) -> tuple[Path, Path]:
    for run_id, extra in (("seq", ()), ("par", ("-n", "2", "--max-clusters", "2"))):
        res = suite.runpytest_subprocess("-p", "no:cacheprovider", *args, "--run-id", run_id,
                                         *extra)
        assert res.ret == 0, res.stdout.str()[-3000:]
    reports = suite.path / "reports"
    assert sorted(p.name for p in reports.iterdir() if p.is_dir() and not p.is_symlink()) \
        == ["par", "seq"]  # the workers wrote into the controller's one folder
    return reports / "seq", reports / "par"


@pytest.mark.realcontainerd
def test_probe_cells_under_xdist_give_the_sequential_matrix(suite: pytest.Pytester) -> None:
    reason = probe_available()
    if reason:
        pytest.skip(f"real containerd probe unavailable: {reason}")
    seq, par = seq_and_par(suite, "--tier", "probe", "--probe-window", "2s", "-k",
                           "baseline or cri-disabled or systemd-cgroup-off")
    assert len(verdicts(seq)) == 3 and verdicts(par) == verdicts(seq)
    assert not list(Path(tempfile.gettempdir()).glob("ccp-*"))  # every probe's socket dir


@pytest.mark.realnode
def test_node_cells_under_xdist_give_the_sequential_matrix(suite: pytest.Pytester) -> None:
    built_image(load_recipes(CLUSTERS), "bookworm")
    seq, par = seq_and_par(suite, "--profile", "default", "--tier", "node", "--node-images",
                           "bookworm", "--node-window", "3s", "-k",
                           "node-baseline or cri-disabled or kubelet-cgroupfs")
    assert len(verdicts(seq)) == 3 and verdicts(par) == verdicts(seq)
    docker = find_docker()
    assert docker.containers("seq") == [] and docker.containers("par") == []
