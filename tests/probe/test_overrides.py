"""Host overrides change a copy, only where the host needs it, and say so each time."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import tomli_w
from tests.golden import check_golden

from calico_conformance.catalog import Catalog
from calico_conformance.cells import KindRelease, Target, Variant
from calico_conformance.containerd import EffectiveConfig
from calico_conformance.probe.host import HostFacts
from calico_conformance.probe.overrides import Adapted, IsolationPaths, adapt

from .hosts import NO_SYSTEMD, SYSTEMD_NODE

CRI = "io.containerd.grpc.v1.cri"
PATHS = IsolationPaths(grpc=Path("/p/c.sock"), ttrpc=Path("/p/c.sock.ttrpc"), opt=Path("/p/opt"),
                       cni_conf=Path("/p/cni/net.d"), cni_bin=Path("/p/cni/bin"),
                       runc_root=Path("/p/runc"), base_spec=Path("/p/cri-base.json"))


def _effective(variant: Variant, kind: KindRelease) -> EffectiveConfig:
    return Target(variant, kind).effective


def _adapt(catalog: Catalog, kind: KindRelease, variant: str, facts: HostFacts = NO_SYSTEMD,
           driver: str | None = None, **kw: Any) -> tuple[dict[str, Any], Adapted]:
    v = catalog.variants[variant]
    data = _effective(v, kind).data
    drv = driver or str(v.kubelet.get("cgroupDriver", kind.kubelet_cgroup_driver))
    opts: dict[str, Any] = {"overlay_usable": True, "exists": lambda p: False, **kw}
    return data, adapt(data, facts, PATHS, image_ref="local/img:1", kubelet_driver=drv, **opts)


def _runc_opts(data: dict[str, Any], runtime: str = "runc") -> dict[str, Any]:
    opts: dict[str, Any] = data["plugins"][CRI]["containerd"]["runtimes"][runtime]["options"]
    return opts


def test_the_variants_config_is_left_untouched_and_the_copy_is_isolated(
        catalog: Catalog, kind_release: KindRelease) -> None:
    data, ad = _adapt(catalog, kind_release, "baseline")
    before = copy.deepcopy(data)
    _adapt(catalog, kind_release, "baseline")
    assert data == before
    assert ad.data["grpc"]["address"] == "/p/c.sock"
    assert ad.data["plugins"][CRI]["cni"]["conf_dir"] == "/p/cni/net.d"
    assert _runc_opts(ad.data)["Root"] == "/p/runc"
    assert any(o.startswith("isolation:") for o in ad.overrides)


def test_the_sandbox_image_is_replaced_and_the_old_one_is_named(
        catalog: Catalog, kind_release: KindRelease) -> None:
    _, ad = _adapt(catalog, kind_release, "sandbox-image-pause-3.6")
    assert ad.data["plugins"][CRI]["sandbox_image"] == "local/img:1"
    assert any("registry.k8s.io/pause:3.6 -> local/img:1" in o for o in ad.overrides)


def test_oom_scores_are_restricted_only_where_the_host_cannot_lower_them(
        catalog: Catalog, kind_release: KindRelease) -> None:
    _, here = _adapt(catalog, kind_release, "baseline", NO_SYSTEMD)
    _, node = _adapt(catalog, kind_release, "baseline", SYSTEMD_NODE)
    assert here.data["plugins"][CRI]["restrict_oom_score_adj"] is True
    assert any("restrict_oom_score_adj: false -> true" in o for o in here.overrides)
    assert node.data["plugins"][CRI]["restrict_oom_score_adj"] is False
    assert not any("restrict_oom_score_adj" in o for o in node.overrides)


def test_kinds_base_runtime_spec_is_always_replaced_and_its_proxy_only_when_missing(
        catalog: Catalog, kind_release: KindRelease) -> None:
    _, missing = _adapt(catalog, kind_release, "baseline")
    assert missing.needs_base_spec
    assert missing.data["plugins"][CRI]["containerd"]["runtimes"]["runc"][
        "base_runtime_spec"] == "/p/cri-base.json"
    assert "fuse-overlayfs" not in missing.data.get("proxy_plugins", {})
    _, present = _adapt(catalog, kind_release, "baseline", exists=lambda p: True)
    assert present.needs_base_spec  # a host file of that name is never read (issue 13)
    assert present.data["proxy_plugins"]["fuse-overlayfs"]["type"] == "snapshot"
    assert not any("proxy_plugins" in o for o in present.overrides)


def test_an_agreeing_systemd_pair_is_emulated_as_cgroupfs_on_a_host_without_systemd(
        catalog: Catalog, kind_release: KindRelease) -> None:
    _, ad = _adapt(catalog, kind_release, "baseline")
    assert _runc_opts(ad.data)["SystemdCgroup"] is False
    assert ad.kubelet_driver == "cgroupfs" and not ad.systemd_requested
    assert any("runc.options] SystemdCgroup: true -> false" in o for o in ad.overrides)


def test_a_systemd_node_keeps_systemd_cgroups_on_both_sides(
        catalog: Catalog, kind_release: KindRelease) -> None:
    _, ad = _adapt(catalog, kind_release, "baseline", SYSTEMD_NODE)
    assert _runc_opts(ad.data)["SystemdCgroup"] is True
    assert ad.kubelet_driver == "systemd" and ad.systemd_requested


def test_a_mismatched_pair_is_not_rewritten_because_the_mismatch_is_under_test(
        catalog: Catalog, kind_release: KindRelease) -> None:
    _, ad = _adapt(catalog, kind_release, "kubelet-cgroupfs")
    assert _runc_opts(ad.data)["SystemdCgroup"] is True
    assert ad.kubelet_driver == "cgroupfs" and ad.systemd_requested
    assert not any("SystemdCgroup" in o for o in ad.overrides)


def test_without_emulation_the_systemd_request_stays_for_the_judge(
        catalog: Catalog, kind_release: KindRelease) -> None:
    _, ad = _adapt(catalog, kind_release, "baseline", emulate_systemd=False)
    assert _runc_opts(ad.data)["SystemdCgroup"] is True
    assert ad.systemd_requested and ad.kubelet_driver == "systemd"


def test_kinds_runc_path_maps_to_the_hosts_runc_but_other_binaries_do_not(
        catalog: Catalog, kind_release: KindRelease) -> None:
    _, ad = _adapt(catalog, kind_release, "custom-default-runtime-no-systemd")
    assert _runc_opts(ad.data, "nvidia")["BinaryName"] == "/usr/sbin/runc"
    assert any("BinaryName: /usr/local/sbin/runc -> /usr/sbin/runc" in o for o in ad.overrides)
    # The default runtime (nvidia) asks for no systemd cgroups: the kubelet stays on systemd.
    assert ad.kubelet_driver == "systemd" and not ad.systemd_requested
    data = _effective(catalog.variants["custom-default-runtime-no-systemd"],
                            kind_release).data
    _runc_opts(data, "nvidia")["BinaryName"] = "/usr/bin/nvidia-container-runtime"
    other = adapt(data, NO_SYSTEMD, PATHS, image_ref="i", kubelet_driver="systemd",
                  overlay_usable=True, exists=lambda p: False)
    assert _runc_opts(other.data, "nvidia")["BinaryName"] == "/usr/bin/nvidia-container-runtime"


def test_the_snapshotter_falls_back_to_native_only_when_overlayfs_is_unusable(
        catalog: Catalog, kind_release: KindRelease) -> None:
    _, ok = _adapt(catalog, kind_release, "baseline")
    _, bad = _adapt(catalog, kind_release, "baseline", overlay_usable=False)
    assert ok.data["plugins"][CRI]["containerd"]["snapshotter"] == "overlayfs"
    assert bad.data["plugins"][CRI]["containerd"]["snapshotter"] == "native"
    assert any("snapshotter: overlayfs -> native" in o for o in bad.overrides)


def test_the_config_handed_to_containerd_for_kinds_default_matches_its_golden(
        catalog: Catalog, kind_release: KindRelease, update_goldens: bool) -> None:
    _, ad = _adapt(catalog, kind_release, "baseline")
    text = tomli_w.dumps(ad.data) + "\n# overrides:\n" + "".join(
        f"# {o}\n" for o in ad.overrides)
    check_golden("probe/baseline-adapted.toml", text, update_goldens)


V3 = """version = 3
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "registry.k8s.io/pause:3.10"
[plugins."io.containerd.cri.v1.runtime"]
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        SystemdCgroup = true
"""


def test_a_version_3_config_is_adapted_in_its_own_tables_not_the_version_2_ones() -> None:
    from calico_conformance.datafile import parse_toml

    ad = adapt(parse_toml(V3), NO_SYSTEMD, PATHS, image_ref="local/img:1",
               kubelet_driver="systemd", overlay_usable=False, exists=lambda p: False)
    images = ad.data["plugins"]["io.containerd.cri.v1.images"]
    runtime = ad.data["plugins"]["io.containerd.cri.v1.runtime"]
    assert CRI not in ad.data["plugins"]  # nothing written where containerd 2.x never looks
    assert images["pinned_images"]["sandbox"] == "local/img:1"
    assert images["snapshotter"] == "native"
    assert runtime["cni"] == {"conf_dir": "/p/cni/net.d", "bin_dir": "/p/cni/bin"}
    assert runtime["containerd"]["runtimes"]["runc"]["options"]["Root"] == "/p/runc"
    assert any("pinned_images" in o for o in ad.overrides)
