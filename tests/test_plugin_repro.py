"""`pytest --repro ID` at collection: the scenario's cells on every tier, or one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent



def test_repro_collects_each_candidate_on_each_reported_version_on_both_tiers(
        suite: pytest.Pytester) -> None:
    result = suite.runpytest("--collect-only", "-q", "--repro", "calico-9524")
    out = result.stdout.str()
    assert "test_calico_node_stays_ready[v3.26.4-report-9524-k8s1.28]" in out
    assert "test_calico_node_stays_ready[v3.28.2-baseline-k8s1.28]" in out
    assert "test_containerd_runs_a_pod_with[probe-systemd-cgroup-off-v0.24.0]" in out
    # the node tier on cgroup v1 (Docker nodes) and on cgroup v2 (VM nodes) by default
    assert "test_calico_node_pod_stays_up_on_node[node-systemd-cgroup-off-trixie]" in out
    assert "test_calico_node_pod_stays_up_on_node[node-systemd-cgroup-off-trixie-vm]" in out
    # 2 versions x 5 candidates on kind, 5 on the probe, 5 x 3 node images x 2 backends
    assert "45 tests collected" in out


def test_tier_still_narrows_a_repro(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--collect-only", "-q", "--repro", "calico-9524", "--tier", "kind")
    result.stdout.fnmatch_lines(["*10/12 tests collected (2 deselected)*"])


def test_an_unknown_repro_is_a_usage_error_naming_the_known_ones(
        suite: pytest.Pytester) -> None:
    result = suite.runpytest("--collect-only", "--repro", "calico-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--repro calico-1: no *calico-1.toml (known: calico-9524)*"])
