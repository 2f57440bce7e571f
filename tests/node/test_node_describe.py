"""A node cell rendered as `kubectl describe pod` is judged by `analyze` as the node tier
judged it: one verdict engine for a user's paste and for the suite's own cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from calico_conformance.catalog import Catalog
from calico_conformance.cells import NodeCell, Target
from calico_conformance.cli import main
from calico_conformance.model import Verdict
from calico_conformance.observe import Kill, StepRecord
from calico_conformance.reporting.describe import render_describe
from calico_conformance.results import build_result
from calico_conformance.signatures import as_described
from calico_conformance.verdict import judge_steps


def _kill(t: float) -> Kill:
    return Kill(t, "pod-cgroup-missing", 0, "Completed",
                'cgroup ["kubepods" "besteffort" "podx"] has some missing controllers: cpuset')


@pytest.mark.parametrize(("record", "verdict", "subtype"), [
    (StepRecord(kills=[_kill(22.0), _kill(80.0), _kill(147.0)], init_runs=4, sandboxes=4,
                completed=True, watched_s=160.0), Verdict.RESTARTS, "killed-exit-0"),
    (StepRecord(init_runs=1, sandboxes=1, completed=True, watched_s=160.0), Verdict.STABLE, ""),
])
def test_the_rendered_describe_of_a_node_cell_gets_the_cells_own_verdict(
        record: StepRecord, verdict: Verdict, subtype: str, catalog: Catalog, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    cell = NodeCell(Target(catalog.variants["systemd-cgroup-off"], catalog.kind["v0.24.0"]),
                    "trixie", backend="vm", cgroup="v2")
    judged = judge_steps(record)
    assert judged[:2] == (verdict, subtype)
    result = build_result(cell, judged[0], subtype=judged[1], evidence=judged[2])
    text = render_describe(result)
    assert ("Last State:     Terminated" in text) is (verdict is Verdict.RESTARTS)
    (tmp_path / "describe.txt").write_text(text)
    code = main(["analyze", str(tmp_path / "describe.txt"), "--format", "json",
                 "--clusters-dir", str(tmp_path / "none")])
    doc = json.loads(capsys.readouterr().out)
    assert (doc["verdict"], doc["subtype"]) == (verdict.value, subtype), text
    assert code == (0 if verdict is Verdict.STABLE else 1)


def test_a_repro_line_shows_the_node_result_as_kubectl_describe_would(
        catalog: Catalog) -> None:
    cell = NodeCell(Target(catalog.variants["systemd-cgroup-off"], catalog.kind["v0.24.0"]),
                    "trixie", backend="vm", cgroup="v2", containerd="1.7.24")
    record = StepRecord(kills=[_kill(22.0), _kill(80.0), _kill(147.0)], init_runs=4,
                        sandboxes=4, completed=True, watched_s=160.0)
    verdict, subtype, ev = judge_steps(record)
    line = as_described(build_result(cell, verdict, subtype=subtype, evidence=ev))
    assert line.startswith("node-trixie-vm (vm, cgroup v2, containerd 1.7.24): ")
    for part in ("Last State Completed (exit 0)", "Restart Count 3", "SandboxChanged x3",
                 "install-cni x3", "every 62s", "has some missing controllers: cpuset"):
        assert part in line, line


def test_a_repro_line_for_a_misplaced_container_says_the_kill_needs_cgroup_v2(
        catalog: Catalog) -> None:
    from calico_conformance.model import ConfigCheck

    cell = NodeCell(Target(catalog.variants["systemd-cgroup-off"], catalog.kind["v0.24.0"]),
                    "trixie", backend="docker", cgroup="v1", containerd="1.7.24")
    record = StepRecord(completed=True, watched_s=20.0,
                        misplaced="the container runs outside its pod cgroup")
    verdict, subtype, ev = judge_steps(record)
    assert verdict is Verdict.MISPLACED and "kill is not triggered" in ev.notes[-1]
    host = {"cgroup_memory": "/system.slice/containerd.service/x", "in_pod_cgroup": "memory=no"}
    result = build_result(cell, verdict, subtype=subtype, evidence=ev,
                          config_check=ConfigCheck(host=host))
    line = as_described(result)
    assert "misplaced: Running, Restart Count 0" in line and line.endswith("needs cgroup v2")
    assert "memory=no" in line
