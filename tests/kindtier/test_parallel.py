"""Cells side by side: xdist workers and shards, against the stand-in cluster.

The acceptance of the scale issue: the same cells are covered exactly once across
shards, and merged shards (or an ``-n`` run) equal the single-machine matrix cell for cell.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from calico_conformance.parallel import (
    default_max_clusters,
    inotify_warnings,
    kind_seconds,
    paired,
    shard_of,
)
from matrixdoc import read_matrix

from .project import make_project
from .test_standin_matrix import run_suite

pytest_plugins = ["standin.fixture"]

VARIANTS = ["baseline", "systemd-cgroup-off", "sc-crashloop", "sc-never-ready"]
SCENARIOS = {"baseline": "stable", "systemd-cgroup-off": "restarts-exit0",
             "sc-crashloop": "crashloop-exit1", "sc-never-ready": "never-ready-bird"}


def _verdicts(run_dir: Path) -> dict[str, tuple[str, str]]:
    matrix = read_matrix(run_dir / "matrix.json")
    return {c["cell_id"]: (c["verdict"], c["outcome"]) for c in matrix["cells"]}


@pytest.fixture(scope="module")
def project_and_standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    """One project, one stand-in, and the sequential run everything is compared with."""
    from standin.fixture import StandIn

    from .project import cell_id

    root = tmp_path_factory.mktemp("parallel")
    project = make_project(root / "p", VARIANTS)
    with StandIn(root / "standin", scenarios={cell_id(v): s for v, s in SCENARIOS.items()},
                 time_scale=0.01) as si:
        whole = run_suite(project, si.env, "--run-id", "whole")
        assert whole.returncode == 0, whole.stdout[-2000:]
        yield project, si


def test_shards_cover_every_cell_exactly_once_and_merge_into_the_whole_matrix(
        project_and_standin: tuple[Path, Any]) -> None:
    from calico_conformance.cli import main as cli

    project, si = project_and_standin
    for k in (1, 2):
        shard = run_suite(project, si.env, "--run-id", f"shard-{k}", "--shard", f"{k}/2")
        assert shard.returncode == 0, shard.stdout[-2000:]
    ids = [set(_verdicts(project / "reports" / f"shard-{k}")) for k in (1, 2)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]  # disjoint, both non-empty
    assert ids[0] | ids[1] == set(_verdicts(project / "reports" / "whole"))
    merged = project / "reports" / "merged"
    assert cli(["merge", str(project / "reports" / "shard-1"),
                str(project / "reports" / "shard-2"), "-o", str(merged)]) == 0
    assert _verdicts(merged) == _verdicts(project / "reports" / "whole")


def test_xdist_workers_write_one_matrix_equal_to_the_sequential_one(
        project_and_standin: tuple[Path, Any]) -> None:
    project, si = project_and_standin
    par = run_suite(project, si.env, "--run-id", "par", "-n", "2", "--max-clusters", "2")
    assert par.returncode == 0, par.stdout[-3000:]
    run_dir = project / "reports" / "par"
    assert _verdicts(run_dir) == _verdicts(project / "reports" / "whole")
    assert read_matrix(run_dir / "matrix.json")["complete"] is True
    assert not list((project / "reports").glob("par-*"))  # workers shared the one folder
    assert not si.clusters()  # every cluster deleted


def test_shards_balance_expected_seconds_deterministically() -> None:
    weights = [("kind-a", 750.0), ("kind-b", 750.0), ("probe-a", 30.0), ("probe-b", 30.0),
               ("kind-c", 750.0)]
    first = shard_of(weights, 2)
    assert first == shard_of(list(reversed(weights)), 2)  # the same on every machine
    totals = {k: sum(w for key, w in weights if first[key] == k) for k in (1, 2)}
    assert abs(totals[1] - totals[2]) <= 750.0


def test_workers_get_each_long_cell_paired_with_a_short_one() -> None:
    # Grid order puts two full soaks first; xdist hands each worker two items at once.
    seconds = {"baseline": 160, "report-9524": 160, "sc-crashloop": 40, "sc-flapping": 160,
               "sc-never-ready": 160, "sc-oom": 40, "sc-sandbox": 40, "systemd-cgroup-off": 40}
    order = paired(sorted(seconds), seconds.__getitem__)
    chunks = [order[i:i + 2] for i in range(0, len(order), 2)]
    assert sorted(sorted(seconds[c] for c in chunk) for chunk in chunks) == [[40, 160]] * 4
    assert order == paired(sorted(seconds), seconds.__getitem__)  # the same on every worker


def test_a_cell_expected_to_crash_is_weighted_as_cut_short_by_its_early_verdict(
        clusters_dir: Path) -> None:
    from calico_conformance.catalog import Catalog
    from calico_conformance.settings import KindSettings

    cells = {c.variant.name: c for c in Catalog(clusters_dir).profile("default").cells}
    stable, crashing = cells["baseline"], cells["systemd-cgroup-off"]
    kind = KindSettings(cache_dir=Path("/nonexistent"), soak_s=600)
    assert kind_seconds(crashing, kind) < kind_seconds(stable, kind)
    full = KindSettings(cache_dir=Path("/nonexistent"), soak_s=600, full_soak=True)
    assert kind_seconds(crashing, full) == kind_seconds(stable, full)


def test_the_default_cluster_bound_follows_cpus_and_memory() -> None:
    assert default_max_clusters(2, cpus=2, mem_gib=24) == 1
    assert default_max_clusters(2, cpus=16, mem_gib=64) == 8
    assert default_max_clusters(2, cpus=16, mem_gib=8) == 2  # memory-bound


def test_low_inotify_limits_are_named_with_the_sysctl_to_raise(tmp_path: Path) -> None:
    (tmp_path / "max_user_watches").write_text("8192\n")
    (tmp_path / "max_user_instances").write_text("1024\n")
    lines = inotify_warnings(tmp_path)
    assert len(lines) == 1 and "sysctl -w fs.inotify.max_user_watches=524288" in lines[0]


def test_preloaded_images_are_pulled_once_loaded_into_every_cluster_and_recorded(
        pytester: pytest.Pytester, standin: Any) -> None:
    project = make_project(pytester.path / "p", ["baseline", "report-9524"])
    si = standin(default="stable", time_scale=0.01)
    proc = run_suite(project, si.env, "--run-id", "pre", "--preload-images")
    assert proc.returncode == 0, proc.stdout[-3000:]
    meta = json.loads((project / "reports" / "pre" / "run.json").read_text())
    pulled = si.state.host_images
    assert meta["images"] and set(meta["images"]) == set(pulled)
    assert any("kindest/node" in i for i in pulled) and any("calico/node" in i for i in pulled)
    loaded = si.state.loaded_images
    assert len(loaded) == 2 and all(any("calico/node" in i for i in imgs)
                                    for imgs in loaded.values())


def test_an_image_that_cannot_be_pulled_stops_the_run_before_any_cluster(
        pytester: pytest.Pytester, standin: Any) -> None:
    project = make_project(pytester.path / "p", ["baseline"])
    si = standin(default="stable", time_scale=0.01)
    proc = run_suite(project, si.env, "--run-id", "nopull", "--preload-images",
                     "--calico-registry", "registry.invalid/missing")
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines()
             if "calico-conformance:" in ln]
    assert len(lines) == 1 and "--preload-images: cannot pull" in lines[0]
    assert "registry.invalid/missing/node" in lines[0]
    assert not si.clusters() and not si.state.loaded_images
