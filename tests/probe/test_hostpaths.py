"""The host probe reads no host file, writes no host path and runs no foreign binary."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from calico_conformance.catalog import Catalog
from calico_conformance.cells import KindRelease, ProbeCell, Target, Variant
from calico_conformance.datafile import parse_toml
from calico_conformance.errors import InputError, RefusedBinary
from calico_conformance.model import Verdict
from calico_conformance.probe import ProbeSettings, run_cell
from calico_conformance.probe.hostpaths import (
    foreign_binaries,
    isolate,
    raw_config,
    refuse_foreign_binaries,
)
from calico_conformance.probe.overrides import IsolationPaths, adapt

from .hosts import NO_SYSTEMD

CRI = "io.containerd.grpc.v1.cri"


def _runtimes(**opts: Any) -> dict[str, Any]:
    return {"version": 2, "plugins": {CRI: {"containerd": {"runtimes": {"runc": {
        "runtime_type": "io.containerd.runc.v2", **opts}}}}}}


def test_imports_are_copied_from_the_variants_folder_and_host_paths_dropped(
        tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "extra.toml").write_text("version = 2\n")
    data = {"version": 2, "imports": ["extra.toml", "/etc/containerd/config.toml",
                                      "missing.toml"]}
    iso = isolate(data, tmp_path / "tree", tmp_path / "var")
    assert data["imports"] == [str(tmp_path / "tree" / "imports" / "0-extra.toml")]
    assert iso.files == [(tmp_path / "tree" / "imports" / "0-extra.toml", "version = 2\n")]
    assert sum("dropped" in n for n in iso.notes) == 2
    assert any("/etc/containerd/config.toml dropped" in n for n in iso.notes)


@pytest.mark.parametrize("how", ["dot-dot", "symlink", "nested", "nested-symlink", "glob"])
def test_an_import_escaping_the_variants_folder_is_refused_however_it_escapes(
        tmp_path: Path, how: str) -> None:
    var, host = tmp_path / "var", tmp_path / "host"
    var.mkdir()
    host.mkdir()
    (host / "secret.toml").write_text("version = 2\n")
    entry = {"dot-dot": "../host/secret.toml", "symlink": "link.toml",
             "nested": "inner.toml", "nested-symlink": "inner.toml", "glob": "*.toml"}[how]
    if how in ("symlink", "glob"):
        (var / "link.toml").symlink_to(host / "secret.toml")
    if how == "nested":
        (var / "inner.toml").write_text('version = 2\nimports = ["../host/secret.toml"]\n')
    if how == "nested-symlink":
        (var / "sub").symlink_to(host)
        (var / "inner.toml").write_text('version = 2\nimports = ["sub/secret.toml"]\n')
    with pytest.raises(InputError, match=r"imports: .* leaves the variant's folder"):
        isolate({"version": 2, "imports": [entry]}, tmp_path / "tree", var)


def test_an_import_is_copied_isolated_its_binaries_checked_and_its_imports_resolved(
        tmp_path: Path) -> None:
    var = tmp_path / "var"
    (var / "conf.d").mkdir(parents=True)
    (var / "a.toml").write_text('version = 2\nimports = ["conf.d/*.toml"]\n'
                                'root = "/var/lib/containerd"\n[grpc]\naddress = "/run/x.sock"\n')
    (var / "conf.d" / "b.toml").write_text('version = 2\nstate = "/run/containerd"\n')
    data = {"version": 2, "imports": ["a.toml"]}
    iso = isolate(data, tmp_path / "tree", var)
    written = "".join(text for _, text in iso.files)
    for host in ("/var/lib/containerd", "/run/containerd", "/run/x.sock"):
        assert host not in written, host
    assert [p.name for p, _ in iso.files] == ["0-a.toml", "1-b.toml"]
    assert str(tmp_path / "tree" / "imports" / "1-b.toml") in iso.files[0][1]
    (var / "conf.d" / "b.toml").write_text('[plugins.linux]\nshim = "/tmp/marker.sh"\n')
    with pytest.raises(RefusedBinary, match=r"marker\.sh"):
        isolate({"version": 2, "imports": ["a.toml"]}, tmp_path / "tree", var)


def test_root_state_config_path_debug_and_metrics_never_point_at_the_host(
        tmp_path: Path) -> None:
    data = {"version": 2, "root": "/var/lib/containerd", "state": "/run/containerd",
            "temp": "/tmp/x", "plugin_dir": "/opt/plugins",
            "debug": {"address": "/run/containerd/debug.sock"},
            "metrics": {"address": "0.0.0.0:1338"},
            "plugins": {CRI: {"registry": {"config_path": "/etc/containerd/certs.d"}}}}
    iso = isolate(data, tmp_path, None)
    flat = repr(data)
    for host in ("/var/lib/containerd", "/run/containerd", "/tmp/x", "/opt/plugins",
                 "0.0.0.0", "/etc/containerd"):
        assert host not in flat, host
    assert len(iso.notes) == 7


def test_an_existing_host_base_runtime_spec_is_replaced_too(tmp_path: Path) -> None:
    paths = IsolationPaths(grpc=tmp_path / "s", ttrpc=tmp_path / "t", opt=tmp_path / "o",
                           cni_conf=tmp_path / "c", cni_bin=tmp_path / "b",
                           runc_root=tmp_path / "r", base_spec=tmp_path / "spec.json",
                           tree=tmp_path)
    ad = adapt(_runtimes(base_runtime_spec="/etc/hostname"), NO_SYSTEMD, paths,
               image_ref="i:1", kubelet_driver="cgroupfs", overlay_usable=True,
               exists=lambda p: True)
    runc = ad.data["plugins"][CRI]["containerd"]["runtimes"]["runc"]
    assert runc["base_runtime_spec"] == str(tmp_path / "spec.json") and ad.needs_base_spec
    assert any("a host file is never read" in n for n in ad.overrides)


@pytest.mark.parametrize("opts", [{"options": {"BinaryName": "/tmp/marker.sh"}},
                                  {"options": {"BinaryName": "/usr/bin/../../tmp/runc"}},
                                  {"runtime_path": "/opt/x/containerd-shim-evil-v2"},
                                  {"runtime_type": "/tmp/shim"},
                                  {"options": {"CriuPath": "/tmp/criu"}},
                                  {"options": {"Runtime": "/tmp/runc-v1"}}])
def test_a_foreign_runtime_binary_is_refused_with_the_flag_named(opts: dict[str, Any]) -> None:
    with pytest.raises(RefusedBinary, match="--probe-allow-binary"):
        refuse_foreign_binaries(_runtimes(**opts))
    value = next(iter(opts.values()))
    allowed = next(iter(value.values())) if isinstance(value, dict) else value
    assert foreign_binaries(_runtimes(**opts), [allowed]) == []


@pytest.mark.parametrize("table", ["linux", "io.containerd.runtime.v1.linux"])
@pytest.mark.parametrize("key", ["shim", "runtime"])
def test_a_v1_linux_shim_or_runtime_is_a_binary_too(table: str, key: str) -> None:
    data = {"plugins": {table: {key: "/tmp/marker.sh"}}}
    with pytest.raises(RefusedBinary, match=r"marker\.sh"):
        refuse_foreign_binaries(data)
    assert foreign_binaries({"plugins": {table: {key: "runc"}}}) == []


@pytest.mark.parametrize("binary", ["runc", "/usr/sbin/runc", "/usr/local/sbin/runc", "crun"])
def test_known_runtimes_in_system_dirs_pass(binary: str) -> None:
    assert foreign_binaries(_runtimes(options={"BinaryName": binary})) == []
    assert foreign_binaries(_runtimes(runtime_path="/usr/bin/containerd-shim-runc-v2")) == []


def test_text_handed_over_as_written_is_still_isolated_and_checked(tmp_path: Path) -> None:
    text, notes = raw_config('version = 2\nimports = ["/etc/containerd/config.toml"]\n',
                             tmp_path, None, ())
    assert "/etc/containerd" not in text and notes
    assert raw_config("not [ toml", tmp_path, None, ()) == ("not [ toml", [])
    with pytest.raises(RefusedBinary):
        raw_config('[a.b]\nBinaryName = "/tmp/x"\n', tmp_path, None, ())


@pytest.mark.realcontainerd
def test_a_marker_binary_named_by_a_variant_is_never_run_as_root(
        kind_release: KindRelease, probe_settings: ProbeSettings, tmp_path: Path) -> None:
    marker, ran = tmp_path / "marker.sh", tmp_path / "ran"
    marker.write_text(f"#!/bin/sh\ntouch {ran}\nexec runc \"$@\"\n")
    marker.chmod(0o755)
    path = tmp_path / "foreign.toml"
    path.write_text(f'version = 2\n[plugins."{CRI}".containerd.runtimes.runc.options]\n'
                    f'  BinaryName = "{marker}"\n')
    variant = Variant(name="foreign", path=path, text=path.read_text())
    r = run_cell(ProbeCell(Target(variant, kind_release)), probe_settings)
    assert r.verdict is Verdict.UNKNOWN and r.subtype == "refused-binary"
    assert str(marker) in r.evidence.error and "--probe-allow-binary" in r.evidence.error
    assert not ran.exists()


@pytest.mark.realcontainerd
def test_a_kind_nodes_import_of_the_host_config_is_dropped_and_the_cell_runs(
        catalog: Catalog, kind_release: KindRelease, probe_settings: ProbeSettings,
        tmp_path: Path) -> None:
    if not os.path.exists("/etc/containerd/config.toml"):
        pytest.skip("no host /etc/containerd/config.toml to leak in")
    path = tmp_path / "dump.toml"
    path.write_text('version = 2\nimports = ["/etc/containerd/config.toml"]\n')
    variant = Variant(name="dump", path=path, text=path.read_text())
    r = run_cell(ProbeCell(Target(variant, kind_release)), probe_settings)
    assert r.verdict is Verdict.STABLE, r.evidence
    assert any("/etc/containerd/config.toml dropped" in o for o in r.config_check.overrides)


def _marker(tmp_path: Path, name: str = "marker.sh") -> tuple[Path, Path]:
    marker, ran = tmp_path / "bin" / name, tmp_path / "ran"
    marker.parent.mkdir(exist_ok=True)
    marker.write_text(f"#!/bin/sh\ntouch {ran}\nexit 1\n")
    marker.chmod(0o755)
    return marker, ran


@pytest.mark.realcontainerd
def test_a_marker_binary_named_through_the_variants_own_import_is_never_run(
        kind_release: KindRelease, probe_settings: ProbeSettings, tmp_path: Path) -> None:
    marker, ran = _marker(tmp_path)
    (tmp_path / "runtime.toml").write_text(
        f'version = 2\n[plugins."{CRI}".containerd.runtimes.runc.options]\n'
        f'  BinaryName = "{marker}"\n')
    path = tmp_path / "imports.toml"
    path.write_text('version = 2\nimports = ["runtime.toml"]\n')
    variant = Variant(name="imports", path=path, text=path.read_text())
    r = run_cell(ProbeCell(Target(variant, kind_release)), probe_settings)
    assert r.verdict is Verdict.UNKNOWN and r.subtype == "refused-binary", r.evidence
    assert str(marker) in r.evidence.error
    assert not ran.exists()


@pytest.mark.realcontainerd
def test_a_shim_found_only_on_the_users_path_is_never_run(
        kind_release: KindRelease, probe_settings: ProbeSettings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    marker, ran = _marker(tmp_path, "containerd-shim-evil-v1")
    monkeypatch.setenv("PATH", f"{marker.parent}:{os.environ['PATH']}")
    path = tmp_path / "evil.toml"
    path.write_text(f'version = 2\n[plugins."{CRI}".containerd]\n  default_runtime_name = "evil"\n'
                    f'[plugins."{CRI}".containerd.runtimes.evil]\n'
                    '  runtime_type = "io.containerd.evil.v1"\n')
    variant = Variant(name="evil", path=path, text=path.read_text())
    r = run_cell(ProbeCell(Target(variant, kind_release)), probe_settings)
    assert not ran.exists(), r.evidence
    assert r.verdict is not Verdict.STABLE


def test_imports_are_staged_by_the_path_containerd_looks_at(tmp_path: Path) -> None:
    from calico_conformance.containerd.imports import staged_imports
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "b.toml").write_text("version = 2\n")
    (tmp_path / "conf.d" / "a.toml").write_text('imports = ["b.toml"]\n')
    (tmp_path / "conf.d" / "b.toml").symlink_to(tmp_path / "real" / "b.toml")
    staged = staged_imports({"imports": ["conf.d/*.toml", "/etc/host.toml"]}, tmp_path)
    assert [rel for rel, _ in staged] == ["conf.d/a.toml", "conf.d/b.toml"]


def test_an_import_with_the_cri_table_is_isolated_like_the_main_config(tmp_path: Path) -> None:
    """containerd lets an import's CRI table replace the main one whole: the probe's CNI
    dirs, runc root and sandbox image must be in the import too, not the host's defaults."""
    var = tmp_path / "var"
    var.mkdir()
    (var / "cri.toml").write_text(
        f'version = 2\n[plugins."{CRI}".containerd.runtimes.runc]\n'
        'runtime_type = "io.containerd.runc.v2"\n')
    paths = IsolationPaths(grpc=tmp_path / "s", ttrpc=tmp_path / "t", opt=tmp_path / "o",
                           cni_conf=tmp_path / "c", cni_bin=tmp_path / "b",
                           runc_root=tmp_path / "r", base_spec=tmp_path / "spec.json",
                           tree=tmp_path / "tree")
    ad = adapt({"version": 2, "imports": ["cri.toml"]}, NO_SYSTEMD, paths, image_ref="i:1",
               kubelet_driver="cgroupfs", overlay_usable=True, exists=lambda p: False,
               variant_dir=var)
    ((_dst, text),) = ad.files
    cri = parse_toml(text)["plugins"][CRI]
    assert cri["cni"] == {"conf_dir": str(tmp_path / "c"), "bin_dir": str(tmp_path / "b")}
    assert cri["containerd"]["runtimes"]["runc"]["options"]["Root"] == str(tmp_path / "r")
    assert cri["sandbox_image"] == "i:1"
    assert any(o.startswith("imports: 0-cri.toml:") for o in ad.overrides)
