"""Each lint rule fires on the config it is about, and stays quiet on its neighbour."""

from __future__ import annotations

from pathlib import Path

import pytest

from calico_conformance.containerd import apply_kind_patches, view
from calico_conformance.datafile import parse_toml
from calico_conformance.lint import lint_view
from calico_conformance.model import Finding

RUNC = '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]'
CRI = '[plugins."io.containerd.grpc.v1.cri"]'
CTRD = '[plugins."io.containerd.grpc.v1.cri".containerd]'
RUNTIMES = 'plugins."io.containerd.grpc.v1.cri".containerd.runtimes'
REGISTRY = '[plugins."io.containerd.grpc.v1.cri".registry]'


@pytest.fixture
def base_text(clusters_dir: Path) -> str:
    return (clusters_dir / "kind" / "v0.24.0" / "containerd-config.toml").read_text()


@pytest.fixture
def on_kind(base_text: str):  # type: ignore[no-untyped-def]
    """Lint a patch the way a matrix cell is linted: over kind v0.24.0's base config."""

    def run(patch: str = "", *, driver: str = "systemd", ctrd: str = "1.7.18",
            shims: tuple[str, ...] = ("io.containerd.runc.v2",),
            ops: tuple[str, ...] = ()) -> list[Finding]:
        eff = apply_kind_patches(base_text, [patch] if patch else [], list(ops),
                                 patch_sources=["patch.toml"])
        pinned = view(parse_toml(base_text)).sandbox_image
        return lint_view(eff.view, kubelet_cgroup_driver=driver, containerd_version=ctrd,
                         shims=shims, pinned_pause=pinned, skipped=eff.skipped,
                         source_text=patch, path="patch.toml", standalone=False)

    return run


def standalone(text: str, *, driver: str = "systemd", ctrd: str = "1.7.18",
               pinned: str | None = None) -> list[Finding]:
    return lint_view(view(parse_toml(text)), kubelet_cgroup_driver=driver,
                     containerd_version=ctrd, shims=None, pinned_pause=pinned,
                     source_text=text, path="config.toml", standalone=True)


def only(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# --- CC001 / CC002: cgroup driver -----------------------------------------------------------

def test_systemd_kubelet_with_systemd_cgroup_false_predicts_restarts_at_the_exact_key(on_kind):
    patch = f"version = 2\n{RUNC}\n  SystemdCgroup = false\n"
    (f,) = only(on_kind(patch), "CC001")
    assert (f.severity, f.predicted, f.key) == ("error", "restarts", "SystemdCgroup")
    assert f.table == f"{RUNTIMES}.runc.options"
    assert f.line == line_of(patch, "SystemdCgroup")
    assert any("110177" in r for r in f.references)


def test_kinds_default_config_has_no_cgroup_finding(on_kind):
    assert not only(on_kind(), "CC001") and not only(on_kind(), "CC002")


def test_the_cgroup_rule_judges_the_default_runtime_not_any_runtime(on_kind):
    other = f"[{RUNTIMES}.other]\n  runtime_type = \"io.containerd.runc.v2\"\n" \
            f"[{RUNTIMES}.other.options]\n  SystemdCgroup = false\n"
    assert not only(on_kind(other), "CC001")
    as_default = f"{CTRD}\n  default_runtime_name = \"other\"\n" + other
    (f,) = only(on_kind(as_default), "CC001")
    assert f.table == f"{RUNTIMES}.other.options"


def test_a_custom_default_runtime_without_systemd_cgroup_counts_as_unset(on_kind):
    patch = (f"{CTRD}\n  default_runtime_name = \"nvidia\"\n[{RUNTIMES}.nvidia]\n"
             f"  runtime_type = \"io.containerd.runc.v2\"\n[{RUNTIMES}.nvidia.options]\n"
             "  BinaryName = \"/usr/local/sbin/runc\"\n")
    (f,) = only(on_kind(patch), "CC001")
    assert "unset" in f.message and f.predicted == "restarts"


def test_cgroupfs_kubelet_with_systemd_runc_predicts_cluster_failure(on_kind):
    (f,) = only(on_kind(driver="cgroupfs"), "CC002")
    assert (f.severity, f.predicted) == ("error", "cluster-fails")
    assert "slice:prefix:name" in f.message


def test_cgroupfs_on_both_sides_is_consistent(on_kind):
    found = on_kind(f"{RUNC}\n  SystemdCgroup = false\n", driver="cgroupfs")
    assert not only(found, "CC001") and not only(found, "CC002")


# --- CC003: undefined default runtime -------------------------------------------------------

def test_a_default_runtime_no_table_defines_predicts_cluster_failure(on_kind):
    patch = f"{CTRD}\n  default_runtime_name = \"crun\"\n"
    (f,) = only(on_kind(patch), "CC003")
    assert (f.predicted, f.key, f.line) == ("cluster-fails", "default_runtime_name", 2)


def test_a_default_runtime_the_base_defines_is_fine(on_kind):
    assert not only(on_kind(f"{CTRD}\n  default_runtime_name = \"test-handler\"\n"), "CC003")


def test_a_standalone_file_without_runtimes_uses_containerds_builtin_runc():
    found = standalone("version = 2\n")
    assert not only(found, "CC003")
    assert only(found, "CC001")  # built-in runc has SystemdCgroup unset


# --- CC004: shims ---------------------------------------------------------------------------

RUNSC = f"[{RUNTIMES}.runsc]\n  runtime_type = \"io.containerd.runsc.v1\"\n"


def test_a_default_runtime_whose_shim_the_node_lacks_predicts_cluster_failure(on_kind):
    (f,) = only(on_kind(f"{CTRD}\n  default_runtime_name = \"runsc\"\n" + RUNSC), "CC004")
    assert (f.severity, f.predicted, f.key) == ("error", "cluster-fails", "runtime_type")


def test_a_merely_defined_runtime_without_its_shim_is_only_a_warning(on_kind):
    (f,) = only(on_kind(RUNSC), "CC004")
    assert (f.severity, f.predicted) == ("warning", "")


def test_a_shim_the_node_ships_is_fine(on_kind):
    shims = ("io.containerd.runc.v2", "io.containerd.runsc.v1")
    assert not only(on_kind(f"{CTRD}\n  default_runtime_name = \"runsc\"\n" + RUNSC,
                            shims=shims), "CC004")


def test_shims_are_not_judged_when_the_node_is_unknown():
    assert not only(standalone(f"version = 2\n{CTRD}\n  default_runtime_name = \"runsc\"\n"
                               + RUNSC), "CC004")


# --- CC005: CRI disabled --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["io.containerd.grpc.v1.cri", "cri",
                                  "io.containerd.cri.v1.runtime"])
def test_a_disabled_cri_plugin_predicts_cluster_failure(on_kind, name):
    (f,) = only(on_kind(f"disabled_plugins = [\"{name}\"]\n"), "CC005")
    assert f.predicted == "cluster-fails" and name in f.message and f.line == 1


def test_disabling_another_plugin_leaves_cri_alone(on_kind):
    assert not only(on_kind('disabled_plugins = ["io.containerd.internal.v1.opt"]\n'), "CC005")


# --- CC006: config version ------------------------------------------------------------------

def test_version_3_on_a_containerd_that_refuses_it_predicts_cluster_failure():
    (f,) = only(standalone("version = 3\n", ctrd="1.7.18"), "CC006")
    assert (f.severity, f.predicted, f.line) == ("error", "cluster-fails", 1)


def test_version_3_on_an_older_1x_is_an_error_without_a_crash_prediction():
    (f,) = only(standalone("version = 3\n", ctrd="1.7.0"), "CC006")
    assert (f.severity, f.predicted) == ("error", "")


def test_version_3_on_containerd_2_is_fine():
    assert not only(standalone("version = 3\n", ctrd="2.0.2"), "CC006")


def test_version_2_on_containerd_2_is_migrated_and_only_informs():
    (f,) = only(standalone("version = 2\n", ctrd="2.0.2"), "CC006")
    assert f.severity == "info"
    assert not only(standalone("version = 2\n", ctrd="1.7.18"), "CC006")


def test_an_unknown_config_version_is_an_error():
    (f,) = only(standalone("version = 5\n", ctrd="2.3.0"), "CC006")
    assert f.severity == "error"


# --- CC007: skipped patches -----------------------------------------------------------------

def test_a_patch_kind_skips_for_its_version_is_reported(on_kind):
    (f,) = only(on_kind(f"version = 3\n{RUNC}\n  SystemdCgroup = false\n"), "CC007")
    assert "skipped" in f.message and f.severity == "warning" and f.line == 1
    assert not only(on_kind(f"version = 3\n{RUNC}\n  SystemdCgroup = false\n"), "CC001")


def test_a_version_less_patch_is_applied_not_skipped(on_kind):
    found = on_kind(f"{RUNC}\n  SystemdCgroup = false\n")
    assert not only(found, "CC007") and only(found, "CC001")


# --- CC008: missing version line ------------------------------------------------------------

def test_a_standalone_file_without_version_is_flagged():
    (f,) = only(standalone('[plugins.cri]\n  sandbox_image = "x"\n'), "CC008")
    assert f.severity == "warning"


def test_a_kind_patch_without_version_is_fine(on_kind):
    assert not only(on_kind(f"{RUNC}\n  SystemdCgroup = true\n"), "CC008")


def test_full_uri_tables_in_a_version_less_file_are_ignored_by_containerd_1x():
    text = f"{RUNC}\n  SystemdCgroup = true\n"
    found = standalone(text, ctrd="1.7.18")
    (f,) = only(found, "CC008")
    assert "io.containerd.grpc.v1.cri" in f.message and "ignores" in f.message
    assert only(found, "CC001")  # what containerd runs: built-in runc, SystemdCgroup unset
    assert not only(standalone("version = 2\n" + text), "CC001")


# --- CC009: option typos --------------------------------------------------------------------

def test_a_misspelt_runc_option_gets_the_close_match(on_kind):
    patch = f"{RUNC}\n  systemCgroup = true\n"
    found = on_kind(patch, ops=('[{"op": "replace", "path": "/plugins/io.containerd.grpc.v1.cri'
                                '/containerd/runtimes/runc/options", "value": '
                                '{"systemCgroup": true}}]',))
    (f,) = only(found, "CC009")
    assert "SystemdCgroup" in f.message and f.key == "systemCgroup"
    assert f.line == line_of(patch, "systemCgroup")
    assert only(found, "CC001")


def test_correct_and_unrelated_option_keys_are_not_typos(on_kind):
    assert not only(on_kind(f"{RUNC}\n  BinaryName = \"runc\"\n  Zzzqx = 1\n"), "CC009")


# --- CC010: sandbox image -------------------------------------------------------------------

def test_a_sandbox_image_other_than_the_pinned_pause_is_a_warning(on_kind):
    patch = f'{CRI}\n  sandbox_image = "registry.k8s.io/pause:3.6"\n'
    (f,) = only(on_kind(patch), "CC010")
    assert (f.severity, f.key, f.line) == ("warning", "sandbox_image", 2)
    assert "pause:3.10" in f.message


def test_the_pinned_pause_image_itself_is_fine(on_kind):
    assert not only(on_kind(), "CC010")


def test_a_standalone_sandbox_image_is_compared_only_when_a_pause_image_is_given():
    text = f'version = 2\n{CRI}\n  sandbox_image = "registry.k8s.io/pause:3.6"\n'
    assert not only(standalone(text), "CC010")
    assert only(standalone(text, pinned="registry.k8s.io/pause:3.10"), "CC010")
    assert not only(standalone(text, pinned="registry.k8s.io/pause:3.6"), "CC010")


def test_a_version_3_sandbox_image_is_found_under_pinned_images():
    text = ('version = 3\n[plugins."io.containerd.cri.v1.images".pinned_images]\n'
            '  sandbox = "registry.k8s.io/pause:3.6"\n')
    (f,) = only(standalone(text, ctrd="2.0.2", pinned="registry.k8s.io/pause:3.10"), "CC010")
    assert f.key == "sandbox" and f.line == 3


# --- CC011 / CC012 / CC013: registry --------------------------------------------------------

MIRROR = '[plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]\n' \
         '  endpoint = ["https://mirror.gcr.io"]\n'


def test_mirrors_with_config_path_predict_cluster_failure(on_kind):
    patch = f'{REGISTRY}\n  config_path = "/etc/containerd/certs.d"\n' + MIRROR
    (f,) = only(on_kind(patch), "CC011")
    assert (f.severity, f.predicted) == ("error", "cluster-fails")
    assert f.line == line_of(patch, "mirrors")


def test_mirrors_alone_on_containerd_1x_are_only_deprecated(on_kind):
    found = on_kind(MIRROR)
    assert not only(found, "CC011") and only(found, "CC013")[0].severity == "info"


def test_mirrors_alone_on_containerd_2_2_meet_its_default_config_path():
    (f,) = only(standalone("version = 3\n" + MIRROR.replace(
        "io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images"), ctrd="2.2.0"), "CC011")
    assert "default" in f.message


def test_an_explicitly_empty_config_path_allows_mirrors_on_2_2():
    text = ('version = 3\n[plugins."io.containerd.cri.v1.images".registry]\n  config_path = ""\n'
            + MIRROR.replace("io.containerd.grpc.v1.cri", "io.containerd.cri.v1.images"))
    assert not only(standalone(text, ctrd="2.2.0"), "CC011")


def test_registry_tls_configs_with_config_path_predict_cluster_failure(on_kind):
    tls = ('[plugins."io.containerd.grpc.v1.cri".registry.configs."r.example".tls]\n'
           '  ca_file = "/ca.pem"\n')
    (f,) = only(on_kind(f'{REGISTRY}\n  config_path = "/etc/containerd/certs.d"\n' + tls),
                "CC012")
    assert f.predicted == "cluster-fails"
    assert not only(on_kind(tls), "CC012")


# --- CC014: shell templates -----------------------------------------------------------------

def test_an_unexpanded_shell_variable_is_pointed_at(on_kind):
    patch = MIRROR.replace("docker.io", "localhost:${reg_port}")
    (f,) = only(on_kind(patch), "CC014")
    assert "${reg_port}" in f.message and f.line == 1
    assert not only(on_kind(MIRROR), "CC014")


def test_findings_come_most_severe_first(on_kind):
    found = on_kind(f'{CRI}\n  sandbox_image = "p:1"\n{RUNC}\n  SystemdCgroup = false\n')
    assert [f.severity for f in found] == sorted(
        (f.severity for f in found), key=["error", "warning", "info"].index)
    assert found[0].code == "CC001"


def test_a_version_that_is_not_a_number_is_an_error_not_a_missing_line():
    found = standalone('version = "2"\n')
    (f,) = only(found, "CC006")
    assert f.severity == "error" and f.line == 1
    assert not only(found, "CC008")


# --- rules the node tier's observations called for (issue #19) --------------------------------

def test_version_4_is_valid_from_containerd_2_3_and_refused_before() -> None:
    assert not only(standalone("version = 4\n", ctrd="2.3.0"), "CC006")
    (f,) = only(standalone("version = 4\n", ctrd="2.1.9"), "CC006")
    assert (f.severity, f.predicted) == ("error", "cluster-fails")
    assert "needs containerd >= 2.3" in f.message


def test_short_v1_plugin_ids_under_a_version_2_line_are_refused_by_containerd() -> None:
    text = 'version = 2\n[plugins.cri]\n  sandbox_image = "registry.k8s.io/pause:3.9"\n'
    (f,) = only(standalone(text), "CC015")
    assert (f.severity, f.predicted) == ("error", "cluster-fails")
    assert 'invalid plugin key URI "cri"' in f.message
    assert not only(standalone(f"version = 2\n{CRI}\n"), "CC015")
    assert not only(standalone("[plugins.cri]\n"), "CC015")  # version 1 keys by short id


def test_a_grpc_address_other_than_the_kubelets_endpoint_predicts_a_cluster_that_fails() -> None:
    (f,) = only(standalone('version = 2\n[grpc]\n  address = "/run/dockershim.sock"\n'), "CC016")
    assert (f.severity, f.predicted, f.line) == ("error", "cluster-fails", 3)
    assert "unix:///run/containerd/containerd.sock" in f.message
    assert not only(standalone('version = 2\n[grpc]\n  address = '
                               '"/run/containerd/containerd.sock"\n'), "CC016")


def test_cni_dirs_other_than_where_calico_installs_are_a_warning_debians_stock_config_too(
        ) -> None:
    debian = (f'version = 2\n{CRI}\n  [plugins."io.containerd.grpc.v1.cri".cni]\n'
              '    bin_dir = "/usr/lib/cni"\n    conf_dir = "/etc/cni/net.d"\n')
    (f,) = only(standalone(debian), "CC017")
    assert (f.severity, f.key) == ("warning", "bin_dir") and "/opt/cni/bin" in f.message
    v3 = ('version = 3\n[plugins."io.containerd.cri.v1.runtime".cni]\n'
          '  bin_dirs = ["/usr/lib/cni", "/opt/cni/bin"]\n')
    assert not only(standalone(v3, ctrd="2.1.9"), "CC017")
    assert not only(standalone(f"version = 2\n{CRI}\n"), "CC017")


def test_calicos_cni_dirs_are_what_the_pinned_manifests_mount(shared_fixtures: Path) -> None:
    from calico_conformance.lint.paths import CALICO_CNI_BIN_DIR, CALICO_CNI_CONF_DIR

    for manifest in sorted((shared_fixtures / "calico").glob("*/calico.yaml")):
        text = manifest.read_text()
        for volume, path in (("cni-bin-dir", CALICO_CNI_BIN_DIR),
                             ("cni-net-dir", CALICO_CNI_CONF_DIR)):
            at = text.index(f"name: {volume}\n          hostPath:")
            assert f"path: {path}\n" in text[at:at + 120], (manifest, volume)


def test_a_shim_containerd_2_removed_fails_every_sandbox_only_on_2_x() -> None:
    text = (f'version = 2\n[{RUNTIMES}.runc]\n  runtime_type = "io.containerd.runc.v1"\n')
    (f,) = only(standalone(text, ctrd="2.1.9"), "CC019")
    assert (f.severity, f.predicted, f.key) == ("error", "cluster-fails", "runtime_type")
    assert not only(standalone(text, ctrd="1.7.24"), "CC019")


def test_a_default_runtime_running_another_binary_than_runc_is_a_warning() -> None:
    text = (f'version = 2\n{CTRD}\n  default_runtime_name = "shimpei"\n'
            f'[{RUNTIMES}.shimpei]\n  runtime_type = "io.containerd.runc.v2"\n'
            f'[{RUNTIMES}.shimpei.options]\n  BinaryName = "shimpei"\n  SystemdCgroup = true\n')
    (f,) = only(standalone(text), "CC018")
    assert f.severity == "warning" and "'shimpei'" in f.message
    assert not only(standalone(text.replace('"shimpei"\n  Sys', '"/usr/bin/runc"\n  Sys')),
                    "CC018")


def test_a_proxy_snapshotter_for_cri_needs_its_daemon() -> None:
    text = (f'version = 2\n{CTRD}\n  snapshotter = "stargz"\n'
            '[proxy_plugins.stargz]\n  type = "snapshot"\n'
            '  address = "/run/containerd-stargz-grpc/containerd-stargz-grpc.sock"\n')
    (f,) = only(standalone(text), "CC020")
    assert f.severity == "warning" and "containerd-stargz-grpc.sock" in f.message
    assert not only(standalone(f"version = 2\n{CTRD}\n"), "CC020")


def test_each_containerd_is_linted_on_the_tables_it_really_reads() -> None:
    """Observed in the calibration: 2.x reads its CRI v1 plugin ids under a version 2
    line (AgentBaker's template); 1.6.20 reads a version 3 file as version 2."""
    v2_with_v3_ids = ('version = 2\n[plugins."io.containerd.cri.v1.runtime".containerd.'
                      'runtimes.runc.options]\n  SystemdCgroup = true\n')
    assert not only(standalone(v2_with_v3_ids, ctrd="2.1.9"), "CC001")
    assert only(standalone(v2_with_v3_ids, ctrd="1.7.24"), "CC001")
    v3 = v2_with_v3_ids.replace("version = 2", "version = 3")
    assert only(standalone(v3, ctrd="1.6.20"), "CC001") and only(
        standalone(v3, ctrd="1.6.20"), "CC006")


def test_a_runc_table_without_runtime_type_fails_every_container_on_1_x_only() -> None:
    """Observed on 1.6.20 and 1.7.24 with Cluster API image-builder's config.toml."""
    text = f"version = 2\n{RUNC}\n  SystemdCgroup = true\n"
    (f,) = only(standalone(text, ctrd="1.7.24"), "CC021")
    assert (f.severity, f.predicted) == ("error", "cluster-fails")
    assert "container.Runtime.Name must be set" in f.message
    assert not only(standalone(text, ctrd="2.1.9"), "CC021")
    with_type = text.replace(RUNC, f'[{RUNTIMES}.runc]\n  runtime_type = "io.containerd.runc.v2"\n'
                                   f"{RUNC}")
    assert not only(standalone(with_type, ctrd="1.7.24"), "CC021")
