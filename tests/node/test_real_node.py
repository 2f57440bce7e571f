"""The node tier against real nodes: systemd PID 1, containerd, runc, the runit workload.

Each test boots a bookworm node (≈2 s) and tears it down; they skip with the reason
where there is no root, no dockerd, or no built image.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from calico_conformance.catalog import Catalog
from calico_conformance.cells import KindRelease, NodeCell, Target, Variant
from calico_conformance.clock import SystemClock
from calico_conformance.model import Verdict
from calico_conformance.node.cgroups import NodeCgroups
from calico_conformance.node.docker import find_docker
from calico_conformance.node.kubelet import PodWorker
from calico_conformance.node.prober import ProbeSpec
from calico_conformance.node.recipes import Recipe
from calico_conformance.node.window import watch
from calico_conformance.node.workload import UNHEALTHY_FLAG
from calico_conformance.settings import NodeSettings
from calico_conformance.verdict import judge_steps

from .conftest import NodeImage, Ready, built_image, run_cell

pytestmark = pytest.mark.realnode


def _cell(variant: Variant, kind: KindRelease, image: NodeImage) -> NodeCell:
    return NodeCell(Target(variant, kind), image.recipe)


def _nothing_left(run_id: str, node_container: str = "") -> None:
    """No container of the run, and no cgroup of its node left in any hierarchy."""
    assert find_docker().containers(run_id) == []
    # the kubelet's and runc's cgroups live below the node's own cgroup, never the host root
    assert not list(Path("/sys/fs/cgroup").glob("*/kubepods*"))
    if node_container:
        assert not list(Path("/sys/fs/cgroup").glob(f"*/docker/{node_container}"))


@pytest.mark.parametrize(("variant", "driver_pair", "inside"), [
    ("baseline", "runc systemd / kubelet systemd", True),
    ("systemd-cgroup-off", "runc cgroupfs / kubelet systemd", False),
    ("cgroupfs-both", "runc cgroupfs / kubelet cgroupfs", True),
])
def test_containers_land_where_containerd_and_runc_put_them_for_each_driver_pair(
        variant: str, driver_pair: str, inside: bool, catalog: Catalog,
        recipes: dict[str, Recipe], run_id: str, tmp_path: Path) -> None:
    image = built_image(recipes, "bookworm")
    v = catalog.variants.get(variant) or _cgroupfs_both(tmp_path)
    res = run_cell(_cell(v, catalog.kind["v0.24.0"], image), image,
                   NodeSettings(window_s=1.0, churn=False, disturb=False), run_id)
    host = res.config_check.host
    # outside its pod cgroup is its own verdict (issue 20): never a pass, never a kill on v1
    assert res.verdict is (Verdict.STABLE if inside else Verdict.MISPLACED), res.evidence.error
    flags = dict(kv.split("=") for kv in host["in_pod_cgroup"].split(","))
    assert set(flags.values()) == ({"yes"} if inside else {"no"}), (driver_pair, host)
    if not inside:  # the runtime put it below containerd's own cgroup, not the pod slice
        assert "/system.slice/containerd.service/" in host["cgroup_memory"]
    _nothing_left(run_id, host["node_container"])


def test_systemd_runc_refuses_a_cgroupfs_kubelet_parent(catalog: Catalog,
                                                        recipes: dict[str, Recipe],
                                                        run_id: str) -> None:
    image = built_image(recipes, "bookworm")
    cell = _cell(catalog.variants["kubelet-cgroupfs"], catalog.kind["v0.24.0"], image)
    res = run_cell(cell, image,
                   NodeSettings(window_s=1.0, churn=False, disturb=False), run_id)
    assert res.verdict is Verdict.SANDBOX_FAILS
    assert "slice:prefix:name" in res.evidence.error
    _nothing_left(run_id, res.config_check.host["node_container"])


def test_a_config_containerd_will_not_run_is_rejected_in_containerds_words(
        catalog: Catalog, recipes: dict[str, Recipe], run_id: str, tmp_path: Path) -> None:
    from calico_conformance.variants import load_variant

    image = built_image(recipes, "bookworm")
    path = tmp_path / "bad-oom-score.toml"
    path.write_text('oom_score = "high"\n')  # containerd's top-level oom_score is an integer
    res = run_cell(_cell(load_variant(path), catalog.kind["v0.24.0"], image), image,
                   NodeSettings(window_s=1.0, churn=False, disturb=False), run_id)
    assert res.verdict is Verdict.CONFIG_REJECTED, res.evidence.error
    assert "oom_score" in res.evidence.error or "toml" in res.evidence.error.lower()
    _nothing_left(run_id, res.config_check.host["node_container"])


def _cgroupfs_both(tmp_path: Path):  # type: ignore[no-untyped-def]
    from calico_conformance.variants import load_variant

    path = tmp_path / "cgroupfs-both.toml"
    path.write_text('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n'
                    "SystemdCgroup = false\n")
    (tmp_path / "cgroupfs-both.meta.toml").write_text('[kubelet]\ncgroupDriver = "cgroupfs"\n')
    return load_variant(path)


def test_runit_workload_exits_0_on_sigterm_and_137_on_sigkill(ready_node: Ready) -> None:
    pods = ready_node.pods
    worker = PodWorker(pods, NodeCgroups(ready_node.node, "systemd"), SystemClock(), 0)
    worker.create()
    pods.stop(worker.cid, 10)  # SIGTERM: runsvdir exits 0
    st = pods.container_status(worker.cid, verbose=True)
    assert (st.exit_code, st.reason) == (0, "Completed")
    worker.log.restarts += 1
    worker._start_main()
    assert pods.container_status(worker.cid, verbose=True).running
    pods.stop(worker.cid, 0)  # SIGKILL at once
    st = pods.container_status(worker.cid, verbose=True)
    assert (st.exit_code, st.reason) == (137, "Error")
    assert worker.cleanup() == []


@pytest.mark.parametrize("ready_node", ["systemd-cgroup-off"], indirect=True)
def test_missing_pod_cgroup_makes_the_kubelet_kill_and_recreate_the_pod(
        ready_node: Ready) -> None:
    """The kill sequence itself: the pod slice is forced away (the container lives outside
    it under this driver mismatch, so it keeps running); the next sync kills with the 2 s
    minimum grace, re-creates the sandbox and re-runs the init container."""
    node, pods = ready_node.node, ready_node.pods
    cg = NodeCgroups(node, "systemd")
    worker = PodWorker(pods, cg, SystemClock(), grace_s=0)
    worker.create()
    assert worker.sync() is None  # the slice exists: nothing to do
    node.exec("systemctl", "stop", worker.pod.parent)
    assert cg.missing(worker.pod)
    assert pods.container_status(worker.cid, verbose=True).running
    kill = worker.sync()
    assert kill is not None and kill.why == "pod-cgroup-missing"
    assert (kill.exit_code, kill.reason) == (0, "Completed")
    assert len(worker.log.sandboxes) == 2 and worker.log.init_runs == 2
    assert worker.log.restarts == 1 and pods.container_status(worker.cid, verbose=True).running
    assert any("SandboxChanged" in e for e in worker.log.events)
    assert any("timeout 2s" in e for e in worker.log.events)
    assert not cg.missing(worker.pod)  # EnsureExists re-created it
    assert worker.cleanup() == []


def test_liveness_failures_kill_the_container_as_the_kubelet_prober_counts(
        ready_node: Ready, run_id: str) -> None:
    pods, node = ready_node.pods, ready_node.node
    worker = PodWorker(pods, NodeCgroups(node, "systemd"), SystemClock(), 0)
    worker.create()
    res = pods.exec_sync(worker.cid, ["/bin/touch", UNHEALTHY_FLAG], 5, SystemClock())
    assert res.exit_code == 0, res
    spec = ProbeSpec("liveness", ("/bin/calico-node", "-felix-live"), period_s=1,
                     timeout_s=5, failure_threshold=3)
    obs = ready_node.obs
    watch(node, pods, worker.cg, worker,
          NodeSettings(window_s=6, sync_s=30, churn=False, disturb=False), (spec,), obs, {})
    verdict, subtype, ev = judge_steps(obs)
    assert verdict is Verdict.RESTARTS and subtype == "killed-exit-0", ev.error
    assert "(liveness)" in ev.error
    assert obs.kills[0].exit_code == 0  # runsvdir on SIGTERM
    assert obs.sandboxes == 1  # a liveness kill keeps the sandbox
    assert pods.container_status(worker.cid, verbose=True).running  # the new container has no flag
    assert worker.cleanup() == []


class _InterruptingClock(SystemClock):
    """Ctrl-C during the window (the clock seam is where the loop sleeps)."""

    def __init__(self, after: int) -> None:
        self.left = after

    def sleep(self, seconds: float) -> None:
        self.left -= 1
        if self.left <= 0:
            raise KeyboardInterrupt
        super().sleep(seconds)


def test_nothing_is_left_after_success_failure_and_ctrl_c(catalog: Catalog,
                                                          recipes: dict[str, Recipe],
                                                          run_id: str) -> None:
    image = built_image(recipes, "bookworm")
    kind = catalog.kind["v0.24.0"]
    fast = NodeSettings(window_s=1.0, churn=False, disturb=False)
    ok = run_cell(_cell(catalog.variants["baseline"], kind, image), image, fast, run_id)
    assert ok.verdict is Verdict.STABLE
    _nothing_left(run_id, ok.config_check.host["node_container"])
    bad = run_cell(_cell(catalog.variants["runsc-default-no-shim"], kind, image), image, fast,
                   run_id)
    assert bad.verdict is Verdict.SANDBOX_FAILS
    _nothing_left(run_id, bad.config_check.host["node_container"])
    with pytest.raises(KeyboardInterrupt):
        run_cell(_cell(catalog.variants["baseline"], kind, image), image,
                 NodeSettings(window_s=30.0, churn=False, disturb=False), run_id,
                 clock=_InterruptingClock(after=20))
    _nothing_left(run_id)


# --- parity with a kind node (issue #19): our machine's gaps are never the config's verdict ---

def _as_is(tmp_path: Path, name: str, text: str) -> Variant:
    from calico_conformance.variants import load_variant

    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return load_variant(path, as_is=True)


FAST = NodeSettings(window_s=1.0, churn=False, disturb=False)
# A whole config the systemd-driver kubelet is happy with, but for what each test adds.
V2_CRI = ('version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
          '  runtime_type = "io.containerd.runc.v2"\n'
          '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n'
          '  SystemdCgroup = true\n[plugins."io.containerd.grpc.v1.cri"]\n')


def test_an_empty_stream_server_address_finds_the_default_route_a_kind_node_has(
        catalog: Catalog, recipes: dict[str, Recipe], run_id: str, tmp_path: Path) -> None:
    """Without a route containerd said "no default routes found in /proc/net/route"."""
    image = built_image(recipes, "bookworm")
    v = _as_is(tmp_path, "stream-any", V2_CRI + 'stream_server_address = ""\n')
    res = run_cell(_cell(v, catalog.kind["v0.24.0"], image), image, FAST, run_id)
    assert res.verdict is Verdict.STABLE, res.evidence.error
    assert any("default route" in v for k, v in res.config_check.host.items()
               if k.startswith("parity"))
    _nothing_left(run_id, res.config_check.host["node_container"])


def test_containerd_2_default_sandbox_image_is_staged_not_pulled_offline(
        catalog: Catalog, recipes: dict[str, Recipe], run_id: str, tmp_path: Path) -> None:
    """2.1.9 asks for registry.k8s.io/pause:3.10 when a config pins none; it was pulled
    (network is unreachable) and the config blamed with sandbox-fails."""
    image = built_image(recipes, "trixie-sid")
    v = _as_is(tmp_path, "no-sandbox-image", 'version = 3\n[plugins."io.containerd.cri.v1.'
               'runtime".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n')
    res = run_cell(_cell(v, catalog.kind["v0.27.0"], image), image, FAST, run_id)
    assert res.verdict is Verdict.STABLE, res.evidence.error
    assert any("registry.k8s.io/pause:3.10" in n for n in res.evidence.notes)
    _nothing_left(run_id, res.config_check.host["node_container"])


def test_containerd_serving_cri_elsewhere_is_its_own_outcome_not_a_rejected_config(
        catalog: Catalog, recipes: dict[str, Recipe], run_id: str, tmp_path: Path) -> None:
    """A Docker-managed containerd's dump: containerd accepted it, the kubelet cannot find it."""
    image = built_image(recipes, "bookworm")
    v = _as_is(tmp_path, "grpc-elsewhere", '[grpc]\naddress = "/run/dockershim.sock"\n')
    res = run_cell(_cell(v, catalog.kind["v0.24.0"], image), image, FAST, run_id)
    assert (res.verdict, res.subtype) == (Verdict.CRI_UNAVAILABLE, "wrong-endpoint")
    assert "containerd serves /run/dockershim.sock" in res.evidence.error
    assert "unix:///run/containerd/containerd.sock" in res.evidence.error
    _nothing_left(run_id, res.config_check.host["node_container"])


def test_an_invalid_sandbox_image_is_judged_by_containerd_not_by_the_harness(
        catalog: Catalog, recipes: dict[str, Recipe], run_id: str, tmp_path: Path) -> None:
    """A placeholder left in a template: it was `unknown` ("ctr images tag ... failed")."""
    image = built_image(recipes, "bookworm")
    v = _as_is(tmp_path, "placeholder", V2_CRI + 'sandbox_image = "{{ PAUSE_IMAGE }}"\n')
    res = run_cell(_cell(v, catalog.kind["v0.24.0"], image), image, FAST, run_id)
    assert res.verdict is Verdict.SANDBOX_FAILS, (res.verdict, res.evidence.error)
    assert "invalid reference format" in res.evidence.error  # containerd's own words
    _nothing_left(run_id, res.config_check.host["node_container"])
