"""The probe against the real containerd on this host: each class as containerd decides it.

These start containerd as root; they skip with the host's reason where that cannot happen.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import pytest

from calico_conformance.catalog import Catalog
from calico_conformance.cells import KindRelease, ProbeCell, Target, Variant
from calico_conformance.clock import SystemClock
from calico_conformance.model import CellResult, Outcome, Tier, Verdict, cell_from_json, to_json
from calico_conformance.probe import ProbeSettings, host_facts, run_cell
from calico_conformance.probe.daemon import SHIM_SOCKET_DIR, processes
from calico_conformance.tools import mount_points

pytestmark = pytest.mark.realcontainerd


def _probe(catalog: Catalog, kind: KindRelease, name: str, settings: ProbeSettings) -> CellResult:
    return run_cell(ProbeCell(Target(catalog.variants[name], kind)), settings)


def test_kinds_unpatched_config_runs_a_pod_through_the_window(
        catalog: Catalog, kind_release: KindRelease, probe_settings: ProbeSettings) -> None:
    r = _probe(catalog, kind_release, "baseline", probe_settings)
    assert r.verdict is Verdict.STABLE, r.evidence
    assert r.outcome is Outcome.PASS
    assert r.cell_id == "probe-baseline-v0.24.0" and r.axes.tier is Tier.PROBE
    assert r.axes.containerd == host_facts().containerd_semver
    assert r.evidence.watched_s >= probe_settings.window_s
    assert any("sandbox_image" in o for o in r.config_check.overrides)
    assert r.config_check.host["cgroup"] in ("v1", "v2")
    assert cell_from_json(to_json(r)) == r


def test_a_disabled_cri_plugin_leaves_no_runtime_service(
        catalog: Catalog, kind_release: KindRelease, probe_settings: ProbeSettings) -> None:
    r = _probe(catalog, kind_release, "cri-disabled", probe_settings)
    assert r.verdict is Verdict.CRI_UNAVAILABLE
    assert r.outcome is Outcome.XFAIL
    assert "io.containerd.grpc.v1.cri" in r.evidence.error


def test_an_undefined_default_runtime_keeps_the_cri_plugin_from_loading(
        catalog: Catalog, kind_release: KindRelease, probe_settings: ProbeSettings) -> None:
    r = _probe(catalog, kind_release, "undefined-default-runtime", probe_settings)
    assert r.verdict is Verdict.CRI_UNAVAILABLE
    assert r.evidence.error.startswith("failed to load plugin io.containerd.grpc.v1.cri")
    assert "crun" in r.evidence.error


def test_runsc_as_default_without_its_shim_fails_every_sandbox(
        catalog: Catalog, kind_release: KindRelease, probe_settings: ProbeSettings) -> None:
    r = _probe(catalog, kind_release, "runsc-default-no-shim", probe_settings)
    assert r.verdict is Verdict.SANDBOX_FAILS
    assert r.outcome is Outcome.XFAIL
    assert "containerd-shim-runsc-v1" in r.evidence.error


def test_a_malformed_toml_is_rejected_by_containerd_itself(
        kind_release: KindRelease, probe_settings: ProbeSettings, tmp_path: Path) -> None:
    path = tmp_path / "malformed.toml"
    path.write_text('version = 2\n[plugins."io.containerd.grpc.v1.cri"\n')
    variant = Variant(name="malformed", path=path, text=path.read_text(),
                      expected_probe="config-rejected")
    r = run_cell(ProbeCell(Target(variant, kind_release)), probe_settings)
    assert r.verdict is Verdict.CONFIG_REJECTED
    assert r.outcome is Outcome.XFAIL
    assert "toml" in r.evidence.error.lower()


def test_systemd_cgroups_on_a_host_without_systemd_are_unknown_and_blamed_on_the_host(
        catalog: Catalog, kind_release: KindRelease, probe_settings: ProbeSettings) -> None:
    facts = host_facts()
    if facts.systemd_pid1:
        pytest.skip("systemd is PID 1 here: systemd cgroups work, nothing to explain")
    raw = ProbeSettings(workdir=probe_settings.workdir, window_s=probe_settings.window_s,
                        emulate_systemd=False)
    r = _probe(catalog, kind_release, "baseline", raw)
    assert r.verdict is Verdict.UNKNOWN and r.outcome is Outcome.UNKNOWN
    assert r.subtype == "host-explained"
    assert facts.init_comm in r.evidence.error and "SystemdCgroup" in r.evidence.error
    assert any("would be sandbox-fails" in n for n in r.evidence.notes)
    assert not any("SystemdCgroup" in o for o in r.config_check.overrides)


# --- tear-down ---------------------------------------------------------------------------------

def _leftovers(workdir: Path) -> list[str]:
    """Anything a probe could have left: processes, mounts, dirs, shim sockets, cgroups."""
    marks = (str(workdir), "/ccp-", "ccprobe")
    left = [f"process {p.pid}: {' '.join(p.argv)}" for p in processes().values()
            if p.state != "Z" and any(m in a for a in p.argv for m in marks)]
    left += [f"mount {m}" for m in mount_points() if any(k in m for k in marks)]
    left += [f"entry {e}" for e in workdir.iterdir()] if workdir.exists() else []
    left += [f"socket dir {e}" for e in Path("/tmp").glob("ccp-*")]
    left += [f"shim socket {e}" for e in SHIM_SOCKET_DIR.glob("*")] if SHIM_SOCKET_DIR.exists() \
        else []
    for root, dirs, _ in os.walk("/sys/fs/cgroup"):
        left += [f"cgroup {root}/{d}" for d in dirs if "ccprobe" in d]
        if root.count("/") >= 6:
            dirs.clear()
    return left


def test_tear_down_leaves_no_process_mount_directory_socket_or_cgroup(
        catalog: Catalog, kind_release: KindRelease, probe_settings: ProbeSettings) -> None:
    before = set(_leftovers(probe_settings.workdir))
    r = _probe(catalog, kind_release, "baseline", probe_settings)
    assert r.verdict is Verdict.STABLE  # it really got as far as a running container
    assert not [n for n in r.evidence.notes if n.startswith("tear-down:")]
    assert sorted(set(_leftovers(probe_settings.workdir)) - before) == []


class InterruptOnceRunning(SystemClock):
    """Real time, but Ctrl-C the first time the probe waits with a container running."""

    def __init__(self) -> None:
        self.fired = False

    def sleep(self, seconds: float) -> None:
        if not self.fired and len([m for m in mount_points()
                                   if re.search(r"ccprobe-.*/rootfs$", m)]) >= 2:
            self.fired = True
            raise KeyboardInterrupt
        super().sleep(seconds)

    def now(self) -> datetime:
        return super().now()


def test_ctrl_c_with_a_pod_running_still_tears_everything_down(
        catalog: Catalog, kind_release: KindRelease, probe_settings: ProbeSettings) -> None:
    clock = InterruptOnceRunning()
    settings = ProbeSettings(workdir=probe_settings.workdir, window_s=30.0, clock=clock)
    before = set(_leftovers(settings.workdir))
    with pytest.raises(KeyboardInterrupt):
        _probe(catalog, kind_release, "baseline", settings)
    assert clock.fired
    assert sorted(set(_leftovers(settings.workdir)) - before) == []
