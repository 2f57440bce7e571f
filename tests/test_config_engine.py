"""The containerd config engine against kind's documented merge behaviour.

Cases mirror kind's pkg/internal/patch/toml_test.go (``TestContainerdTOML``): patches
are RFC 7386 merge patches over the base converted to JSON, a patch whose version
differs from the base's is skipped, JSON 6902 patches apply after all merge patches.
"""

from __future__ import annotations

import pytest

from calico_conformance.containerd import apply_kind_patches, view
from calico_conformance.datafile import parse_toml
from calico_conformance.errors import InputError

KIND_BASE = """version = 2
disabled_plugins = ["restart"]
[plugins.linux]
  shim_debug = true
[plugins.cri.containerd.runtimes.runsc]
  runtime_type = "io.containerd.runsc.v1"
"""


def test_a_patch_with_another_version_is_skipped_and_recorded():
    eff = apply_kind_patches(KIND_BASE, ['version = 3\ndisabled_plugins=["bar"]',
                                         'version = 2\n disabled_plugins=["baz"]'],
                             patch_sources=["a.toml", "b.toml"])
    assert eff.data["disabled_plugins"] == ["baz"]
    (skip,) = eff.skipped
    assert (skip.index, skip.patch_version, skip.base_version, skip.source) == (0, 3, 2, "a.toml")
    assert "skipped" in skip.describe() and "a.toml" in skip.describe()


def test_a_version_less_patch_is_applied():
    eff = apply_kind_patches(KIND_BASE, ["disabled_plugins=[]"])
    assert eff.data["disabled_plugins"] == [] and eff.skipped == ()


def test_arrays_are_replaced_whole_not_appended():
    eff = apply_kind_patches(KIND_BASE, ['disabled_plugins = ["foo"]'])
    assert eff.data["disabled_plugins"] == ["foo"]


def test_tables_merge_key_by_key():
    patch = ('[plugins.cri.registry.mirrors."registry:5000"]\n'
             '  endpoint = ["http://registry:5000"]\n'
             "[plugins.cri.containerd.runtimes.runsc]\n  extra = 1\n")
    data = apply_kind_patches(KIND_BASE, [patch]).data
    assert data["plugins"]["linux"] == {"shim_debug": True}
    assert data["plugins"]["cri"]["containerd"]["runtimes"]["runsc"] == {
        "runtime_type": "io.containerd.runsc.v1", "extra": 1}
    assert data["plugins"]["cri"]["registry"]["mirrors"]["registry:5000"]["endpoint"] == [
        "http://registry:5000"]


def test_patches_apply_in_order_the_last_one_winning():
    data = apply_kind_patches(KIND_BASE, ["[plugins.linux]\n shim_debug = false",
                                          "[plugins.linux]\n shim_debug = true"]).data
    assert data["plugins"]["linux"]["shim_debug"] is True


def test_json6902_patches_apply_after_the_merge_patches():
    eff = apply_kind_patches(KIND_BASE, ['disabled_plugins=["foo"]'],
                             ['[{"op": "remove", "path": "/disabled_plugins"}]'])
    assert "disabled_plugins" not in eff.data


def test_a_json6902_replace_swaps_a_whole_table():
    op = ('[{"op": "replace", "path": "/plugins/cri/containerd/runtimes/runsc", '
          '"value": {"runtime_type": "io.containerd.runc.v2"}}]')
    data = apply_kind_patches(KIND_BASE, [], [op]).data
    assert data["plugins"]["cri"]["containerd"]["runtimes"]["runsc"] == {
        "runtime_type": "io.containerd.runc.v2"}


def test_a_json6902_patch_that_does_not_apply_is_an_input_error():
    with pytest.raises(InputError, match="does not apply"):
        apply_kind_patches(KIND_BASE, [], ['[{"op": "remove", "path": "/fooooooo"}]'])


def test_a_base_without_a_version_line_is_refused_like_kind_does():
    with pytest.raises(InputError, match="no version line"):
        apply_kind_patches('disabled_plugins = ["restart"]\n', [])


def test_a_patch_whose_version_is_not_a_number_is_refused_like_kind_does():
    with pytest.raises(InputError, match="version"):
        apply_kind_patches(KIND_BASE, ['version = "five"\n'], patch_sources=["p.toml"])


def test_the_effective_text_round_trips_to_the_same_data():
    eff = apply_kind_patches(KIND_BASE, ['disabled_plugins = ["foo"]'])
    assert parse_toml(eff.text) == eff.data


@pytest.mark.parametrize(("text", "line"), [
    ("version = 2\n[plugins\n", 2),
    ("version = 2\nx = 1\nx = 2\n", 3),
    ("a = \n", 1),
])
def test_malformed_toml_is_an_input_error_naming_the_line(text, line):
    with pytest.raises(InputError) as info:
        parse_toml(text, path="bad.toml")
    assert (info.value.path, info.value.line) == ("bad.toml", line)
    assert info.value.one_line().startswith(f"bad.toml:{line}: invalid TOML")
    assert isinstance(info.value.__cause__, ValueError)


def test_a_malformed_patch_names_its_source():
    with pytest.raises(InputError) as info:
        apply_kind_patches(KIND_BASE, ["🏰"], patch_sources=["variant.toml"])
    assert info.value.path == "variant.toml"


# --- the canonical view across layouts -----------------------------------------------------

V1 = """[plugins.cri]
  sandbox_image = "pause:v1"
[plugins.cri.containerd]
  default_runtime_name = "runc"
[plugins.cri.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins.cri.containerd.runtimes.runc.options]
  SystemdCgroup = true
[plugins.cri.registry.mirrors."docker.io"]
  endpoint = ["https://m"]
"""
V2 = """version = 2
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "pause:v2"
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "nvidia"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia.options]
  BinaryName = "/usr/bin/nvidia-container-runtime"
  SystemdCgroup = false
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"
"""
V3 = """version = 3
[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = "pause:v3"
[plugins."io.containerd.cri.v1.images".registry]
  config_path = "/etc/containerd/certs.d"
[plugins."io.containerd.cri.v1.runtime".containerd]
  default_runtime_name = "crun"
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.crun]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.crun.options]
  BinaryName = "/usr/bin/crun"
"""


def test_a_version_1_layout_reads_the_cri_plugin():
    v = view(parse_toml(V1))
    assert (v.declared_version, v.version) == (None, 1)
    assert v.cri_table == "plugins.cri.containerd"
    rt = v.default_runtime
    assert rt is not None and (rt.name, rt.runtime_type, rt.systemd_cgroup) == (
        "runc", "io.containerd.runc.v2", True)
    assert v.sandbox_image == "pause:v1" and v.sandbox_image_key == "[plugins.cri] sandbox_image"
    assert v.registry_mirrors == ("docker.io",) and v.registry_config_path is None
    assert not v.cri_disabled


def test_a_version_2_layout_reads_the_grpc_cri_plugin():
    v = view(parse_toml(V2))
    assert (v.declared_version, v.version) == (2, 2)
    rt = v.default_runtime
    assert rt is not None and rt.name == "nvidia"
    assert (rt.binary_name, rt.systemd_cgroup) == ("/usr/bin/nvidia-container-runtime", False)
    assert rt.table == 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes.nvidia'
    assert v.sandbox_image == "pause:v2"
    assert v.sandbox_image_key == '[plugins."io.containerd.grpc.v1.cri"] sandbox_image'
    assert v.registry_config_path == "/etc/containerd/certs.d"
    assert v.registry_table == 'plugins."io.containerd.grpc.v1.cri".registry'
    assert v.disabled_plugins == ("io.containerd.grpc.v1.cri",) and v.cri_disabled


def test_a_version_3_layout_splits_runtime_and_images():
    v = view(parse_toml(V3))
    assert (v.declared_version, v.version) == (3, 3)
    assert v.cri_table == 'plugins."io.containerd.cri.v1.runtime".containerd'
    rt = v.default_runtime
    assert rt is not None and (rt.name, rt.binary_name, rt.systemd_cgroup) == (
        "crun", "/usr/bin/crun", None)
    assert v.sandbox_image == "pause:v3"
    assert v.sandbox_image_key == '[plugins."io.containerd.cri.v1.images".pinned_images] sandbox'
    assert v.registry_table == 'plugins."io.containerd.cri.v1.images".registry'
    assert v.registry_config_path == "/etc/containerd/certs.d"


def test_an_unset_default_runtime_name_means_runc():
    v = view(parse_toml(V1.replace('  default_runtime_name = "runc"\n', "")))
    assert v.default_runtime_name is None
    assert v.default_runtime is not None and v.default_runtime.name == "runc"


def test_a_default_runtime_without_a_table_has_no_runtime():
    v = view(parse_toml('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\n'
                        '  default_runtime_name = "crun"\n'))
    assert v.default_runtime_name == "crun" and v.default_runtime is None
