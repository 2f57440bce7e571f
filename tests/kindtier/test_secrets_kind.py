"""A registry credential planted in a variant appears nowhere in a kind-tier run folder:
not in the kind config kept as evidence, the node's containerd config, the artifacts or
the results; kind got it in a 0600 file that is gone once the cluster exists."""

from __future__ import annotations

from typing import Any

import pytest

from .project import make_project
from .test_standin_matrix import run_suite

pytest_plugins = ["standin.fixture"]
SECRET = "hunter2-kind-PASSWORD"
VARIANT = (f'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry.configs.'
           f'"registry.invalid".auth]\n  username = "robot"\n  password = "{SECRET}"\n')


def test_a_planted_secret_appears_nowhere_in_a_kind_run_folder(
        pytester: pytest.Pytester, standin: Any) -> None:
    project = make_project(pytester.path / "p", ["with-secret"])
    (project / "clusters" / "containerd" / "with-secret.toml").write_text(VARIANT)
    si = standin(default="restarts-exit0")  # a failing cell: artifacts are collected too
    proc = run_suite(project, si.env, "--run-id", "secret")
    run = project / "reports" / "secret"
    assert (run / "cells").is_dir(), proc.stdout + proc.stderr
    files = [p for p in run.rglob("*") if p.is_file()]
    assert any(p.name == "kind-config.yaml" for p in files), files
    assert [str(p) for p in files if SECRET.encode() in p.read_bytes()] == []
    assert not list(run.rglob(".kind-config.private.yaml"))
    kept = next(p for p in files if p.name == "kind-config.yaml")
    assert 'password = "<redacted>"' in kept.read_text()
