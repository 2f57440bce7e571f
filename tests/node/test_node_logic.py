"""The node tier's pure parts: recipes and mirrors, probe counting, verdicts, cgroup names."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from calico_conformance.cri.archive import image_archive
from calico_conformance.cri.client import ExecResult
from calico_conformance.errors import InputError, StepFailed
from calico_conformance.model import Verdict
from calico_conformance.node.cgroups import PodCgroup, hierarchies, proc_cgroups
from calico_conformance.node.prober import FAILURE, SUCCESS, ProbeSpec, Worker, probe_specs
from calico_conformance.node.recipes import apt_sources, debian_mirror, load_recipe, load_recipes
from calico_conformance.node.workload import WORKLOAD_REF, ldd_paths
from calico_conformance.observe import Kill, StepRecord
from calico_conformance.verdict import judge_steps, kill_signature

from .conftest import CLUSTERS

SHARED_MANIFEST = (Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "calico"
                   / "v3.28.2" / "calico.yaml")


def test_three_recipes_ship_one_per_containerd_line() -> None:
    recipes = load_recipes(CLUSTERS)
    assert sorted(recipes) == ["bookworm", "trixie", "trixie-sid"]
    assert recipes["trixie-sid"].overlay is not None
    assert recipes["trixie-sid"].overlay.packages == ("containerd", "runc")
    assert recipes["trixie-sid"].kind == "v0.27.0"


def test_editing_a_recipe_changes_its_image_tag(tmp_path: Path) -> None:
    for f in ("bookworm.toml", "entrypoint.sh"):
        shutil.copy(CLUSTERS / "nodes" / f, tmp_path / f)
    before = load_recipe(tmp_path / "bookworm.toml").tag
    with (tmp_path / "bookworm.toml").open("a") as fh:
        fh.write("# edited\n")
    assert load_recipe(tmp_path / "bookworm.toml").tag != before


def test_a_recipe_named_unlike_its_file_is_refused(tmp_path: Path) -> None:
    shutil.copy(CLUSTERS / "nodes" / "entrypoint.sh", tmp_path / "entrypoint.sh")
    (tmp_path / "other.toml").write_text('name = "bookworm"\nsuite = "bookworm"\n'
                                         'kind = "v0.24.0"\npackages = ["systemd"]\n')
    with pytest.raises(InputError, match="must match its file name"):
        load_recipe(tmp_path / "other.toml")


def test_the_mirror_comes_from_the_machines_apt_sources(tmp_path: Path) -> None:
    d = tmp_path / "sources.list.d"
    d.mkdir()
    (tmp_path / "sources.list").write_text("# nothing here\n")
    (d / "debian.sources").write_text(
        "Types: deb\nURIs: file:///srv/mirror/debian-security\nSuites: bookworm-security\n"
        "Components: main\n\nTypes: deb\nURIs: file:///srv/mirror/debian\n"
        "Suites: bookworm bookworm-updates\nComponents: main\n")
    (d / "other.list.disabled").write_text("deb file:///srv/elsewhere stable main\n")
    (d / "extra.list").write_text("deb [arch=amd64] file:///srv/third stable contrib\n")
    assert debian_mirror(apt_sources(tmp_path)) == "file:///srv/mirror/debian"


def test_no_debian_archive_in_apt_sources_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("deb file:///srv/x/debian-security "
                                           "bookworm-security main\n")
    with pytest.raises(InputError, match="--mirror"):
        debian_mirror(apt_sources(tmp_path))


def _ok(code: int = 0, error: str = "") -> ExecResult:
    return ExecResult(code, "felix is not live" if code else "", error, 0.05)


def test_liveness_kills_only_after_failure_threshold_failures_in_a_row() -> None:
    w = Worker(ProbeSpec("liveness", ("/bin/calico-node", "-felix-live"), failure_threshold=3))
    assert [w.record(r) for r in (_ok(1), _ok(1), _ok(0), _ok(1), _ok(1))] == [False] * 5
    assert w.record(_ok(1)) is True  # the third failure in a row
    assert w.on_hold and w.state == FAILURE
    assert w.counts == {SUCCESS: 1, FAILURE: 5, "discarded": 0}


def test_prober_errors_are_thrown_away_and_timeouts_are_failures() -> None:
    w = Worker(ProbeSpec("liveness", ("x",), failure_threshold=2))
    assert w.record(_ok(1)) is False
    assert w.record(ExecResult(-1, "", "NOT_FOUND: container gone", 0.1)) is False
    assert w.run == 1  # the discarded result did not touch the run
    assert w.record(ExecResult(-1, "", "DEADLINE_EXCEEDED: timeout", 10.0)) is True
    assert w.counts["discarded"] == 1


def test_probe_settings_come_from_the_manifest() -> None:
    docs = [{"kind": "DaemonSet", "metadata": {"name": "calico-node"}, "spec": {"template": {
        "spec": {"terminationGracePeriodSeconds": 0, "containers": [{
            "name": "calico-node",
            "livenessProbe": {"exec": {"command": ["/bin/calico-node", "-felix-live"]},
                              "periodSeconds": 10, "failureThreshold": 6,
                              "timeoutSeconds": 10, "initialDelaySeconds": 10},
            "readinessProbe": {"exec": {"command": ["/bin/calico-node", "-felix-ready"]}}}]}}}}]
    specs, grace = probe_specs(docs)
    assert grace == 0
    live, ready = specs
    assert (live.period_s, live.timeout_s, live.failure_threshold, live.initial_delay_s) == \
        (10, 10, 6, 10)
    assert (ready.kind, ready.period_s, ready.timeout_s, ready.failure_threshold) == \
        ("readiness", 10, 1, 3)  # Kubernetes defaults where the manifest sets none


def test_probe_settings_of_the_real_calico_manifest() -> None:
    if not SHARED_MANIFEST.is_file():
        pytest.skip(f"no shared Calico fixture at {SHARED_MANIFEST}")
    from calico_conformance.calico import load_documents

    specs, grace = probe_specs(load_documents(SHARED_MANIFEST.read_bytes()))
    assert grace == 0
    assert specs[0].command == ("/bin/calico-node", "-felix-live", "-bird-live")
    assert specs[0].failure_threshold == 6


def _kill(why: str, code: int = 0) -> Kill:
    return Kill(5.0, why, code, "Completed" if code == 0 else "Error", "detail")


def test_a_kubelet_pod_cgroup_kill_is_restarts_and_carries_the_signature() -> None:
    rec = StepRecord(kills=[_kill("pod-cgroup-missing")], init_runs=2, sandboxes=2,
                     completed=True)
    verdict, subtype, ev = judge_steps(rec)
    # kubectl's words for the kill (Last State Completed, exit 0); the kubelet's path beside
    assert (verdict, subtype) == (Verdict.RESTARTS, "killed-exit-0")
    assert "exit 0 Completed" in ev.error and "pod-cgroup-missing" in ev.error
    assert kill_signature(rec)
    assert [(e.reason, e.count) for e in ev.events] == [("SandboxChanged", 1), ("Killing", 1)]
    assert any(n.startswith("init containers re-ran (install-cni x1") for n in ev.notes)


def test_exits_of_its_own_are_container_exits_and_no_kill_is_stable() -> None:
    exited = StepRecord(kills=[_kill("exited", 1)], init_runs=1, sandboxes=1, completed=True)
    assert judge_steps(exited)[0] is Verdict.CONTAINER_EXITS and not kill_signature(exited)
    calm = StepRecord(init_runs=1, sandboxes=1, completed=True)
    assert judge_steps(calm)[0] is Verdict.STABLE
    lost = StepRecord(failure=StepFailed("cri", "containerd stopped"))
    assert judge_steps(lost)[0] is Verdict.CRI_UNAVAILABLE


def test_a_window_that_never_ended_is_never_stable() -> None:
    assert judge_steps(StepRecord(init_runs=1, sandboxes=1))[0] is Verdict.UNKNOWN


def test_our_trouble_is_unknown_whatever_else_was_seen() -> None:
    rec = StepRecord(kills=[_kill("pod-cgroup-missing")], trouble="node host trouble: x",
                     completed=True)
    verdict, subtype, ev = judge_steps(rec)
    assert (verdict, subtype, ev.error) == (Verdict.UNKNOWN, "", "node host trouble: x")


def test_pod_cgroup_names_follow_the_kubelet_per_driver() -> None:
    uid = "0a1b-2c3d"
    assert PodCgroup("systemd", uid).parent == "kubepods-besteffort-pod0a1b_2c3d.slice"
    assert PodCgroup("systemd", uid).relpath == (
        "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0a1b_2c3d.slice")
    assert PodCgroup("cgroupfs", uid).parent == "/kubepods/besteffort/pod0a1b-2c3d"


def test_proc_cgroup_lines_split_co_mounted_controllers_and_name_the_unified_one() -> None:
    got = proc_cgroups("4:cpu,cpuacct:/a\n1:name=systemd:/b/init.scope\n0::/c\n")
    assert got == {"cpu": "/a", "cpuacct": "/a", "systemd": "/b/init.scope", "unified": "/c"}


def test_ldd_output_gives_the_libraries_and_the_loader() -> None:
    out = ("\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x7f)\n"
           "\t/lib64/ld-linux-x86-64.so.2 (0x7f)\n")
    assert ldd_paths(out) == ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"]


def test_the_workload_archive_is_byte_for_byte_reproducible() -> None:
    a = image_archive(b"layer", ("/usr/bin/runsvdir", "-P", "/etc/service"), WORKLOAD_REF)
    assert a == image_archive(b"layer", ("/usr/bin/runsvdir", "-P", "/etc/service"),
                              WORKLOAD_REF)
    assert a != image_archive(b"other", ("/usr/bin/runsvdir",), WORKLOAD_REF)


def test_the_hierarchies_are_the_cgroup_mounts_not_leftover_directories() -> None:
    """Read from the node's mountinfo as libcontainer does: the nested kind-style bind
    mounts, cgroup2 and a plain ``cpu,cpuacct`` directory are no v1 hierarchy."""
    info = ("81 80 0:29 /docker/x /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
            "50 81 0:29 /docker/x /sys/fs/cgroup/cpu/docker/x rw - cgroup cgroup rw,cpu\n"
            "89 80 0:37 /docker/x /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n"
            "62 80 0:38 /docker/x /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
            "63 80 0:52 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls\n"
            "30 1 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs ro\n")
    assert hierarchies(info) == ["cpu", "net_cls,net_prio", "systemd"]


def test_every_sandbox_image_a_config_names_is_staged_whatever_its_layout() -> None:
    """A version 2 header over containerd 2.x plugin ids (AgentBaker's template): the
    pinned sandbox image was not staged, pulled offline and blamed on the config."""
    from calico_conformance.node.cell import _configured_sandbox_images

    config = {"version": 2, "plugins": {
        "io.containerd.cri.v1.images": {"pinned_images": {"sandbox": "mcr.microsoft.com/p:3.6"}},
        "io.containerd.grpc.v1.cri": {"sandbox_image": "registry.k8s.io/pause:3.9"}}}
    assert _configured_sandbox_images(config) == ["mcr.microsoft.com/p:3.6",
                                                  "registry.k8s.io/pause:3.9"]
    assert _configured_sandbox_images('[x]\n  sandbox_image = "a/b:1"\n') == ["a/b:1"]


class _NoOomNode:
    """A node where sandboxes may not lower oom_score_adj (no CAP_SYS_RESOURCE)."""

    def __init__(self, containerd: str) -> None:
        self.facts = {"containerd": containerd}

    def exec(self, *argv: str, timeout: float = 60, stdin: str | None = None) -> tuple[int, str]:
        return 1, "permission denied"


@pytest.mark.parametrize(("config", "containerd", "table"), [
    ({"plugins": {"io.containerd.grpc.v1.cri": {}}}, "1.7.24", "cri"),  # version-less: short ids
    ({"version": 3}, "1.6.20", "io.containerd.grpc.v1.cri"),  # 1.6.20 reads v3 as v2
    ({"version": 3}, "2.1.9", "io.containerd.cri.v1.runtime"),
    ({"version": 2}, "2.1.9", "io.containerd.grpc.v1.cri"),  # 2.x migrates it from there
    ({"plugins": {"cri": {}}}, "2.1.9", "io.containerd.cri.v1.runtime"),  # v1 CRI ignored
])
def test_the_oom_adaptation_goes_where_this_containerd_reads_it_whatever_the_layout_says(
        config: dict[str, object], containerd: str, table: str) -> None:
    """On a version-less file the override went into a URI table containerd 1.x never reads:
    runc then failed every sandbox ("can't get final child's PID from pipe") on our host's
    missing capability, and the config was blamed."""
    from calico_conformance.node.cell import adapt

    said: list[str] = []
    out = adapt(config, said, _NoOomNode(containerd))  # type: ignore[arg-type]
    assert out["plugins"][table]["restrict_oom_score_adj"] is True  # type: ignore[index]
    from calico_conformance.containerd.config import table_name

    assert said and said[0].startswith(f"[{table_name('plugins', table)}] ")


@pytest.mark.parametrize(("ref", "as_cri_names_it"), [
    ("kubeedge/pause:3.6", "docker.io/kubeedge/pause:3.6"),
    ("pause", "docker.io/library/pause:latest"),
    ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
    ("localhost/kubernetes/pause:0.1.0", "localhost/kubernetes/pause:0.1.0"),
    ("easzlab.io.local:5000/easzlab/pause:3.10", "easzlab.io.local:5000/easzlab/pause:3.10"),
    ("{{ PAUSE_IMAGE }}", "{{ PAUSE_IMAGE }}"),
])
def test_a_sandbox_image_is_staged_under_the_name_cri_will_look_it_up_by(
        ref: str, as_cri_names_it: str) -> None:
    from calico_conformance.node.parity import normalized

    assert normalized(ref) == as_cri_names_it
