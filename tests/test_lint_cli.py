"""`calico-conformance lint` on real files: exit codes, formats, and never a traceback."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from calico_conformance.model import Finding, from_dict

TEXT_LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+)?: ?(?P<code>CC\d{3}) "
                       r"(?P<sev>error|warning|info)( \[[^\]]+\])?( \S+)?: .+$")


@pytest.fixture
def cli() -> Callable[[list[str]], int]:
    from calico_conformance.cli import build_parser, main

    try:
        build_parser()
    except ImportError as exc:  # another subcommand's module is not there yet
        pytest.skip(f"calico_conformance.cli cannot build its parser yet: {exc}")
    return main


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


GOOD = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
        '  runtime_type = "io.containerd.runc.v2"\n'
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n'
        '  SystemdCgroup = true\n')
BAD = GOOD.replace("SystemdCgroup = true", "SystemdCgroup = false")


@pytest.fixture(autouse=True)
def in_repo_root(repo_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """lint's default --clusters is ./clusters, as when run from a checkout."""
    monkeypatch.chdir(repo_root)


def test_a_clean_config_exits_zero_and_prints_one_ok_line(cli, tmp_path, capsys):
    path = write(tmp_path, "config.toml", GOOD)
    assert cli(["lint", "--containerd-version", "1.7.18", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"


def test_an_error_finding_exits_one_with_one_parseable_line_per_finding(cli, tmp_path, capsys):
    path = write(tmp_path, "config.toml", BAD)
    assert cli(["lint", str(path)]) == 1
    out = capsys.readouterr().out
    heads = [line for line in out.splitlines() if not line.startswith("    ")]
    assert heads and all(TEXT_LINE.match(h) for h in heads), out
    assert heads[0].startswith(f"{path}:5: CC001 error")
    assert "(predicted: restarts)" in heads[0]
    assert "    fix: " in out and "    see: https://" in out


def test_a_version_less_file_is_judged_as_containerd_1x_reads_it(cli, tmp_path, capsys):
    path = write(tmp_path, "config.toml", GOOD.replace("version = 2\n", ""))
    assert cli(["lint", "--containerd-version", "1.7.18", str(path)]) == 1
    out = capsys.readouterr().out
    assert "CC008 warning" in out and "CC001 error" in out  # the v2 tables are never read


def test_warnings_alone_exit_zero(cli, tmp_path, capsys):
    sandbox = GOOD + '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause:3.6"\n'
    path = write(tmp_path, "s.toml", sandbox)
    assert cli(["lint", "--pause-image", "registry.k8s.io/pause:3.10", str(path)]) == 0
    assert " CC010 warning " in capsys.readouterr().out


def test_the_kubelet_driver_option_changes_the_verdict(cli, tmp_path, capsys):
    path = write(tmp_path, "config.toml", GOOD)
    assert cli(["lint", "--kubelet-cgroup-driver", "cgroupfs", str(path)]) == 1
    assert "CC002" in capsys.readouterr().out


def test_json_output_is_a_list_of_findings(cli, tmp_path, capsys):
    assert cli(["lint", "--format", "json", str(write(tmp_path, "c.toml", BAD))]) == 1
    data = json.loads(capsys.readouterr().out)
    findings = [from_dict(Finding, d) for d in data]
    assert findings[0].code == "CC001" and findings[0].line == 5
    assert set(data[0]) == set(Finding.__dataclass_fields__)


def test_malformed_toml_exits_two_naming_file_and_line(cli, tmp_path, capsys):
    path = write(tmp_path, "broken.toml", 'version = 2\n[plugins\n  x = 1\n')
    assert cli(["lint", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"calico-conformance: error: {path}:2: invalid TOML")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_missing_file_exits_two(cli, tmp_path, capsys):
    assert cli(["lint", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: no such file" in capsys.readouterr().err


def test_an_unknown_kind_release_exits_two(cli, tmp_path, clusters_dir, capsys):
    path = write(tmp_path, "p.toml", GOOD)
    assert cli(["lint", "--clusters", str(clusters_dir), "--on-kind", "v9.9.9", str(path)]) == 2
    assert "unknown kind release" in capsys.readouterr().err


def test_a_directory_lints_every_toml_under_it(cli, tmp_path, capsys):
    write(tmp_path, "a/config.toml", GOOD)
    write(tmp_path, "b/deeper/config.toml", BAD)
    write(tmp_path, "b/notes.txt", "not toml")
    assert cli(["lint", "--containerd-version", "1.7.18", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "b/deeper/config.toml:5: CC001" in out and "a/config.toml: ok" in out


def test_on_kind_treats_the_file_as_a_patch_over_the_release_base(cli, tmp_path,
                                                                 clusters_dir, capsys):
    path = write(tmp_path, "patch.toml", "version = 3\n")
    assert cli(["lint", "--clusters", str(clusters_dir), "--on-kind", "v0.24.0", str(path)]) == 0
    assert "CC007 warning" in capsys.readouterr().out


def test_a_kind_cluster_config_has_its_containerd_patches_linted(cli, tmp_path,
                                                                clusters_dir, capsys):
    cfg = ("kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\ncontainerdConfigPatches:\n- |-\n"
           '  [plugins."io.containerd.grpc.v1.cri".containerd]\n'
           '    default_runtime_name = "crun"\n')
    path = write(tmp_path, "cluster.yaml", cfg)
    assert cli(["lint", "--clusters", str(clusters_dir), "--on-kind", "v0.24.0", str(path)]) == 1
    assert f"{path}:6: CC003 error" in capsys.readouterr().out


def test_every_upstream_kind_config_lints_without_a_traceback(cli, shared_fixtures,
                                                              clusters_dir, capsys):
    kind_dir = shared_fixtures / "kind"
    code = cli(["lint", "--clusters", str(clusters_dir), str(kind_dir)])
    out, err = capsys.readouterr()
    assert code in (0, 1) and all(line.startswith("lint: ") for line in err.splitlines())
    # Every TOML file and every Cluster config with containerd patches was looked at.
    assert "kind-with-registry.v0.17.0.yaml:5: CC014" in out  # ${reg_port} left unexpanded
    assert "node-image-containerd-config/v0.12.0/config.toml" in out  # no SystemdCgroup there
    for toml in kind_dir.rglob("*.toml"):
        assert cli(["lint", "--format", "json", str(toml)]) in (0, 1)
        json.loads(capsys.readouterr().out)


def test_the_installed_console_script_runs_lint(tmp_path, cli):
    exe = shutil.which("calico-conformance")
    if exe is None:
        pytest.skip("calico-conformance console script is not on PATH (pip install -e .)")
    path = write(tmp_path, "config.toml", BAD)
    proc = subprocess.run([exe, "lint", "--format", "json", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)[0]["code"] == "CC001"


def test_a_binary_file_exits_two_with_one_line(cli, tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe\x00binary")
    assert cli(["lint", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"calico-conformance: error: {path}: cannot read") and err[-1] == "\n"


@pytest.mark.parametrize("files", [{}, {"notes.txt": "x", "deploy.yaml": "kind: Pod\n",
                                        "x.meta.toml": 'expected = "stable"\n'}])
def test_a_directory_with_nothing_to_lint_exits_two_with_one_line(cli, tmp_path, capsys,
                                                                  files):
    for name, text in files.items():
        write(tmp_path, name, text)
    assert cli(["lint", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"calico-conformance: error: no containerd config files (*.toml) or kind "
                   f"Cluster configs under {tmp_path}\n")


def test_without_containerd_installed_the_default_is_the_newest_kind_release_in_the_data(
        cli, tmp_path, clusters_dir, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    from calico_conformance.catalog import Catalog
    from calico_conformance.versions import parse_version

    clusters = tmp_path / "clusters"
    shutil.copytree(clusters_dir, clusters)
    releases = Catalog(clusters).kind
    newest = releases[max(releases, key=lambda v: parse_version(v) or (0, 0, 0))]
    bumped = "9.8.7"  # proves the value is read, not remembered
    releases_toml = clusters / "kind" / "releases.toml"
    text = releases_toml.read_text()
    marker = f'version = "{newest.version}"\ncontainerd = "{newest.containerd}"'
    assert marker in text
    releases_toml.write_text(text.replace(marker, marker.replace(newest.containerd, bumped)))
    path = write(tmp_path, "config.toml", GOOD)
    assert cli(["lint", "--clusters", str(clusters), str(path)]) == 0
    out, err = capsys.readouterr()
    assert f"on containerd {bumped}:" in out
    assert f"judged for containerd {bumped} (the newest kind release" in err


def test_the_installed_containerd_is_preferred_and_named(cli, tmp_path, capsys, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "containerd"
    fake.write_text("#!/bin/sh\necho 'containerd github.com/containerd/containerd 1.6.99 x'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    path = write(tmp_path, "config.toml", GOOD)
    assert cli(["lint", str(path)]) == 0
    assert "judged for containerd 1.6.99 (installed here" in capsys.readouterr().err


def test_kinds_own_base_config_is_judged_for_that_releases_containerd(
        cli, clusters_dir, capsys):
    base = clusters_dir / "kind" / "v0.24.0" / "containerd-config.toml"
    assert cli(["lint", "--clusters", str(clusters_dir), str(base)]) in (0, 1)
    assert "judged for containerd 1.7.18 (the base config of kind v0.24.0)" in \
        capsys.readouterr().err


def test_a_variant_and_its_sidecar_are_linted_once_as_the_matrix_runs_them(
        cli, clusters_dir, capsys):
    variant = clusters_dir / "containerd" / "kubelet-cgroupfs.toml"
    sidecar = clusters_dir / "containerd" / "kubelet-cgroupfs.meta.toml"
    code = cli(["lint", "--clusters", str(clusters_dir), str(variant), str(sidecar)])
    out, err = capsys.readouterr()
    assert code == 1 and "CC002" in out  # the kubelet setting lives in the sidecar
    assert err.count("linted as the matrix runs variant kubelet-cgroupfs") == 1


def test_without_a_containerd_version_or_clusters_data_lint_exits_two_saying_what_to_pass(
        cli, tmp_path, capsys):
    path = write(tmp_path, "config.toml", GOOD)
    nowhere = tmp_path / "no-clusters"
    assert cli(["lint", "--clusters", str(nowhere), str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "--clusters" in err and str(nowhere) in err
    assert cli(["lint", "--clusters", str(nowhere), "--containerd-version", "1.7.18",
                str(path)]) == 0
