"""`--tier node` through the pytest plugin (pytester), and one real node cell end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from calico_conformance.node.recipes import Recipe
from matrixdoc import read_matrix

from .conftest import built_image

REPO = Path(__file__).resolve().parents[2]



def test_tier_node_collects_each_variant_on_each_node_image(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--collect-only", "-q", "--profile", "smoke", "--tier", "node")
    out = result.stdout.str()
    for recipe in ("bookworm", "trixie", "trixie-sid"):
        assert f"test_calico_node_pod_stays_up_on_node[node-systemd-cgroup-off-{recipe}]" in out
    assert "6/" in out and "tests collected" in out  # 2 variants x 3 images, nothing else


def test_tier_all_runs_probe_then_node_then_kind(suite: pytest.Pytester) -> None:
    result = suite.runpytest("--collect-only", "-q", "--profile", "smoke", "--tier", "all",
                             "--node-images", "bookworm")
    lines = [ln for ln in result.stdout.lines if "::" in ln]
    tiers = ["probe" if "[probe-" in ln else "node" if "[node-" in ln else "kind"
             for ln in lines]
    assert tiers == sorted(tiers, key=["probe", "node", "kind"].index)
    assert tiers.count("node") == 2 and tiers.count("probe") and tiers.count("kind")


def test_without_docker_node_cells_skip_with_the_reason(suite: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = suite.runpytest("-q", "-rs", "--profile", "smoke", "--tier", "node",
                             "--node-images", "bookworm", "-k", "node-baseline")
    result.stdout.fnmatch_lines(["*SKIPPED*node tier unavailable here: docker: not found*"])
    result.stdout.fnmatch_lines(["error: nothing was tested: node tier unavailable here*"])
    assert result.ret == 1  # "not tested" is never a pass


@pytest.mark.realnode
def test_a_node_cell_runs_and_reports_a_column_per_node_image(
        suite: pytest.Pytester, recipes: dict[str, Recipe]) -> None:
    built_image(recipes, "bookworm")
    result = suite.runpytest("-q", "--profile", "smoke", "--tier", "node", "--node-images",
                             "bookworm", "-k", "node-baseline", "--node-window", "3s",
                             "--run-id", "node-e2e", "--calico-manifest-dir",
                             str(REPO.parent / "shared" / "fixtures" / "calico"))
    assert result.ret == 0, result.stdout.str()[-3000:]
    matrix = read_matrix(suite.path / "reports" / "node-e2e" / "matrix.json")
    (cell,) = matrix["cells"]
    assert (cell["verdict"], cell["axes"]["tier"]) == ("stable", "node")
    assert (cell["axes"]["backend"], cell["axes"]["cgroup"]) == ("docker", "v1")
    assert cell["config_check"]["host"]["pid1"] == "systemd"
    md = (suite.path / "reports" / "node-e2e" / "matrix.md").read_text()
    assert "node cgroup v1 · containerd 1.6.20" in md and "docker node, cgroup v1" in md


@pytest.mark.realnode
def test_a_planted_secret_in_any_spelling_appears_nowhere_in_a_node_run_folder(
        suite: pytest.Pytester, recipes: dict[str, Recipe]) -> None:
    """containerd logs its CRI config (credentials included) into the journal the node
    tier keeps for a failing cell; every spelling of issue 22 stays out of the run."""
    from tests.probe.test_secrets import AUTH, SPELLINGS, leaks
    built_image(recipes, "bookworm")
    variant = suite.path / "secret" / "with-secret.toml"
    variant.parent.mkdir()
    variant.write_text("version = 2\n" + AUTH + "".join(text for _, text, _ in SPELLINGS))
    result = suite.runpytest("-q", "--tier", "node", "--node-images", "bookworm",
                             f"--variant={variant}", "--variant-as-patch", "--node-window",
                             "3s", "--run-id", "node-secret", "--calico-manifest-dir",
                             str(REPO.parent / "shared" / "fixtures" / "calico"))
    run = suite.path / "reports" / "node-secret"
    assert (run / "cells").is_dir(), result.stdout.str()[-3000:]
    assert leaks(run) == []


@pytest.mark.realnode
def test_a_variants_own_imports_are_staged_beside_the_nodes_config(
        suite: pytest.Pytester, recipes: dict[str, Recipe]) -> None:
    """containerd resolves imports against config.toml's folder: the node gets the
    variant's files there, or the cell would blame the config for our missing file."""
    built_image(recipes, "bookworm")
    folder = suite.path / "mine"
    (folder / "conf.d").mkdir(parents=True)
    (folder / "conf.d" / "runc.toml").write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
        'runtime_type = "io.containerd.runc.v2"\n'
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n'
        'SystemdCgroup = true\n')
    (folder / "imports.toml").write_text('version = 2\nimports = ["conf.d/runc.toml"]\n')
    result = suite.runpytest("-q", "--tier", "node", "--node-images", "bookworm",
                             f"--variant={folder / 'imports.toml'}", "--node-window", "3s",
                             "--run-id", "node-imports", "--calico-manifest-dir",
                             str(REPO.parent / "shared" / "fixtures" / "calico"))
    (cell,) = read_matrix(suite.path / "reports" / "node-imports" / "matrix.json")["cells"]
    # Unstaged, containerd refuses the config ("failed to load TOML from
    # /etc/containerd/conf.d/runc.toml"): our missing file, not the config's fault.
    assert cell["verdict"] == "stable", result.stdout.str()[-3000:]
    assert any("conf.d/runc.toml staged into the node" in o
               for o in cell["config_check"]["overrides"])
