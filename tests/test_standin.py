"""The stand-in cluster speaks real kind/docker CLI and Kubernetes API formats.

Everything here goes through the fake executables on PATH and the official
``kubernetes`` client, the way production code will.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import urllib3
import yaml
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from calico_conformance.catalog import Catalog
from calico_conformance.containerd import apply_kind_patches
from standin.cluster import scenario_for

if TYPE_CHECKING:
    from standin.fixture import StandIn, StandInFactory

pytest_plugins = ["standin.fixture"]

PATCH = '[plugins."io.containerd.grpc.v1.cri".containerd]\n  snapshotter = "native"\n'
V3_PATCH = 'version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd]\n  snapshotter = "x"\n'


def kind_config(tmp: Path, cell: str = "cell-a", variant: str = "baseline", workers: int = 1,
                extra: dict[str, Any] | None = None) -> Path:
    labels = {"calico-conformance.io/cell": cell, "calico-conformance.io/variant": variant}
    doc = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4",
           "nodes": [{"role": "control-plane", "labels": labels}] +
                    [{"role": "worker", "labels": labels}] * workers,
           "containerdConfigPatches": [PATCH], **(extra or {})}
    path = tmp / f"{cell}.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def run(s: StandIn, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), env={**os.environ, **s.env}, capture_output=True,
                          text=True, input=stdin, timeout=30, check=False)


def create(s: StandIn, tmp: Path, name: str, **kw: Any) -> client.ApiClient:
    cfg = kind_config(tmp, **kw)
    kc = tmp / f"{name}.kubeconfig"
    res = run(s, "kind", "create", "cluster", "--name", name, "--config", str(cfg),
              "--kubeconfig", str(kc))
    assert res.returncode == 0, res.stderr
    return config.new_client_from_config(str(kc))


def until(check: Callable[[], Any], limit: float = 10.0) -> Any:
    """Poll until ``check()`` is truthy (a bounded wait, not a timing assertion)."""
    end = time.monotonic() + limit
    while True:
        got = check()
        if got or time.monotonic() > end:
            return got
        time.sleep(0.02)


DAEMONSET = {
    "apiVersion": "apps/v1", "kind": "DaemonSet",
    "metadata": {"name": "calico-node", "namespace": "kube-system",
                 "labels": {"k8s-app": "calico-node"}},
    "spec": {"selector": {"matchLabels": {"k8s-app": "calico-node"}}, "template": {
        "metadata": {"labels": {"k8s-app": "calico-node"}},
        "spec": {"hostNetwork": True,
                 "initContainers": [{"name": "install-cni",
                                     "image": "docker.io/calico/cni:v3.28.2"}],
                 "containers": [{"name": "calico-node",
                                 "image": "docker.io/calico/node:v3.28.2"}]}}}}


def apply_calico_node(api: client.ApiClient) -> Any:
    dyn = DynamicClient(api)
    ds = dyn.resources.get(api_version="apps/v1", kind="DaemonSet")
    return dyn.server_side_apply(ds, body=DAEMONSET, name="calico-node", namespace="kube-system",
                                 field_manager="calico-conformance", force_conflicts=True)


def calico_pods(api: client.ApiClient) -> list[Any]:
    return list(client.CoreV1Api(api).list_namespaced_pod(
        "kube-system", label_selector="k8s-app=calico-node").items)


# --- kind ----------------------------------------------------------------------------------------
def test_fake_kind_writes_a_kubeconfig_the_kubernetes_client_loads(standin: StandInFactory,
                                                                   tmp_path: Path) -> None:
    s = standin()
    api = create(s, tmp_path, "alpha", workers=2)
    nodes = [n.metadata.name for n in client.CoreV1Api(api).list_node().items]
    assert nodes == ["alpha-control-plane", "alpha-worker", "alpha-worker2"]
    kc = yaml.safe_load((tmp_path / "alpha.kubeconfig").read_text())
    assert kc["current-context"] == "kind-alpha"
    assert client.VersionApi(api).get_code().git_version == "v1.31.0"
    assert run(s, "kind", "version").stdout == "kind v0.24.0 go1.22.6 linux/amd64\n"


def test_creating_a_cluster_whose_name_exists_fails_with_kinds_message(
        standin: StandInFactory, tmp_path: Path) -> None:
    s = standin()
    create(s, tmp_path, "dup")
    res = run(s, "kind", "create", "cluster", "--name=dup", f"--config={kind_config(tmp_path)}")
    assert res.returncode == 1
    assert res.stderr == ('ERROR: failed to create cluster: node(s) already exist for a cluster '
                          'with the name "dup"\n')


def test_kind_lists_and_deletes_clusters_and_cleans_the_kubeconfig(
        standin: StandInFactory, tmp_path: Path) -> None:
    s = standin()
    create(s, tmp_path, "one")
    assert run(s, "kind", "get", "clusters").stdout == "one\n"
    assert run(s, "kind", "get", "nodes", "--name", "one").stdout.split() == [
        "one-control-plane", "one-worker"]
    res = run(s, "kind", "delete", "cluster", "--name", "one", "--kubeconfig",
              str(tmp_path / "one.kubeconfig"))
    assert res.returncode == 0 and 'Deleting cluster "one" ...' in res.stderr
    assert run(s, "kind", "get", "clusters").stderr == "No kind clusters found.\n"
    assert yaml.safe_load((tmp_path / "one.kubeconfig").read_text())["contexts"] == []


def test_the_kind_create_fails_scenario_reports_a_containerd_cri_failure(
        standin: StandInFactory, tmp_path: Path) -> None:
    s = standin(scenarios={"broken": "kind-create-fails"})
    res = run(s, "kind", "create", "cluster", "--name", "b", "--retain", "--config",
              str(kind_config(tmp_path, variant="broken")))
    assert res.returncode == 1
    assert "ERROR: failed to create cluster: failed to init node with kubeadm" in res.stderr
    assert "[kubelet-check]" in res.stderr
    assert "unknown service runtime.v1.RuntimeService" in res.stderr
    out = tmp_path / "logs"
    exported = run(s, "kind", "export", "logs", str(out), "--name", "b")
    assert exported.stdout == f"{out}\n"
    assert 'Exporting logs for cluster "b" to:' in exported.stderr
    assert "failed to load plugin io.containerd.grpc.v1.cri" in (
        out / "b-control-plane" / "containerd.log").read_text()
    assert (out / "kind-version.txt").read_text().startswith("kind v0.24.0")


def test_scenarios_are_chosen_by_cell_then_variant_then_default() -> None:
    cfg = {"nodes": [{"labels": {"calico-conformance.io/cell": "c",
                                 "calico-conformance.io/variant": "v"}}]}
    assert scenario_for(cfg, {"c": "oom", "v": "flapping"}, "stable").name == "oom"
    assert scenario_for(cfg, {"v": "flapping"}, "stable").name == "flapping"
    assert scenario_for(cfg, {}, "image-pull").name == "image-pull"


# --- docker --------------------------------------------------------------------------------------
def test_fake_docker_returns_kinds_merged_config_and_skips_a_version_3_patch(
        standin: StandInFactory, tmp_path: Path, repo_root: Path) -> None:
    s = standin()
    create(s, tmp_path, "cfg", extra={"containerdConfigPatches": [PATCH, V3_PATCH]})
    got = run(s, "docker", "exec", "cfg-worker", "cat", "/etc/containerd/config.toml")
    rel = Catalog(repo_root / "clusters").kind["v0.24.0"]
    want = apply_kind_patches(rel.base_config_text(), [PATCH, V3_PATCH])
    assert len(want.skipped) == 1
    assert got.returncode == 0 and got.stdout == want.text
    ver = run(s, "docker", "exec", "cfg-control-plane", "containerd", "--version").stdout
    assert ver.startswith(f"containerd github.com/containerd/containerd v{rel.containerd} ")


def test_the_config_drift_scenario_changes_only_the_workers_config(
        standin: StandInFactory, tmp_path: Path) -> None:
    s = standin(scenarios={"drifty": "config-drift"})
    create(s, tmp_path, "d", variant="drifty")
    cp = run(s, "docker", "exec", "d-control-plane", "cat", "/etc/containerd/config.toml").stdout
    worker = run(s, "docker", "exec", "d-worker", "cat", "/etc/containerd/config.toml").stdout
    assert "SystemdCgroup = true" in cp
    assert "SystemdCgroup = false" in worker


def test_the_kubelet_config_follows_a_kubeadm_patch(standin: StandInFactory,
                                                    tmp_path: Path) -> None:
    s = standin()
    patch = "kind: KubeletConfiguration\ncgroupDriver: cgroupfs\n"
    create(s, tmp_path, "k", extra={"kubeadmConfigPatches": [patch]})
    text = run(s, "docker", "exec", "k-worker", "cat", "/var/lib/kubelet/config.yaml").stdout
    assert yaml.safe_load(text)["cgroupDriver"] == "cgroupfs"


def test_docker_errors_look_like_docker(standin: StandInFactory, tmp_path: Path) -> None:
    s = standin()
    res = run(s, "docker", "exec", "nope", "cat", "/etc/containerd/config.toml")
    assert res.returncode == 1
    assert res.stderr == "Error response from daemon: No such container: nope\n"
    assert run(s, "docker", "info", "--format", "{{.ServerVersion}}").stdout == "27.3.1\n"
    assert run(s, "docker", "version", "--format", "{{.Server.Version}}").stdout == "27.3.1\n"
    down = standin(docker_works=False)
    res = run(down, "docker", "info")
    assert res.returncode == 1
    assert res.stderr == ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                          "Is the docker daemon running?\n")
    assert run(down, "kind", "create", "cluster", "--name", "x").returncode == 1


# --- API -----------------------------------------------------------------------------------------
def test_dynamic_client_discovers_and_applies_a_small_manifest_with_a_crd(
        standin: StandInFactory, tmp_path: Path) -> None:
    s = standin()
    dyn = DynamicClient(create(s, tmp_path, "dyn"))
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.io"},
           "spec": {"group": "example.io", "scope": "Cluster",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                              "listKind": "WidgetList"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}},
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "cfg", "namespace": "demo"}, "data": {"a": "1"}},
            crd, {"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w"},
                  "spec": {"size": 1}}]
    for doc in docs:
        res = dyn.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        out = dyn.server_side_apply(res, body=doc, name=doc["metadata"]["name"],
                                    namespace=doc["metadata"].get("namespace"),
                                    field_manager="t", force_conflicts=True)
        assert out.metadata.uid and out.metadata.generation == 1
    got = dyn.resources.get(api_version="apiextensions.k8s.io/v1",
                            kind="CustomResourceDefinition").get(name="widgets.example.io")
    assert {c.type: c.status for c in got.status.conditions}["Established"] == "True"
    widgets = dyn.resources.get(api_version="example.io/v1", kind="Widget")
    again = dyn.server_side_apply(widgets, body={**docs[3], "spec": {"size": 2}}, name="w",
                                  field_manager="t", force_conflicts=True)
    assert again.metadata.generation == 2
    with pytest.raises(ApiException) as missing:
        client.CoreV1Api(dyn.client).read_namespaced_config_map("nope", "demo")
    assert missing.value.status == 404


def test_the_real_calico_manifest_applies_and_calico_node_runs_on_every_node(
        standin: StandInFactory, tmp_path: Path, shared_fixtures: Path) -> None:
    s = standin()
    api = create(s, tmp_path, "calico", workers=2)
    dyn = DynamicClient(api)
    manifest = (shared_fixtures / "calico" / "v3.28.2" / "calico.yaml").read_text()
    for doc in filter(None, yaml.safe_load_all(manifest)):
        res = dyn.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
        dyn.server_side_apply(res, body=doc, name=doc["metadata"]["name"],
                              namespace=doc["metadata"].get("namespace"),
                              field_manager="calico-conformance", force_conflicts=True)
    assert dyn.resources.get(api_version="crd.projectcalico.org/v1", kind="IPPool")
    pods = calico_pods(api)
    assert sorted(p.spec.node_name for p in pods) == [
        "calico-control-plane", "calico-worker", "calico-worker2"]
    apps = client.AppsV1Api(api)
    ds = until(lambda: (lambda d: d if d.status.number_ready == 3 else None)(
        apps.read_namespaced_daemon_set("calico-node", "kube-system")))
    assert ds.status.desired_number_scheduled == ds.status.number_available == 3
    kc = client.CoreV1Api(api).list_namespaced_pod(
        "kube-system", label_selector="k8s-app=calico-kube-controllers").items
    assert [p.status.phase for p in kc] == ["Running"]


def test_a_watch_streams_the_scenarios_exit0_restarts(standin: StandInFactory,
                                                      tmp_path: Path) -> None:
    s = standin(scenarios={"cell-a": "restarts-exit0"})
    api = create(s, tmp_path, "r")
    v1 = client.CoreV1Api(api)
    rv = v1.list_namespaced_pod("kube-system").metadata.resource_version
    apply_calico_node(api)
    terminated = None
    for ev in watch.Watch().stream(v1.list_namespaced_pod, "kube-system",
                                   label_selector="k8s-app=calico-node", resource_version=rv,
                                   timeout_seconds=5):
        st = ev["object"].status.container_statuses[0]
        if st.restart_count:
            terminated = st.last_state.terminated
            break
    assert terminated is not None
    assert (terminated.reason, terminated.exit_code) == ("Completed", 0)
    reasons = until(lambda: {"Unhealthy", "Killing"} <= {
        e.reason for e in v1.list_namespaced_event("kube-system").items})
    assert reasons
    name = calico_pods(api)[0].metadata.name
    prev = v1.read_namespaced_pod_log(name, "kube-system", container="calico-node", previous=True)
    assert "SIGTERM" in prev


def test_crashloop_pods_wait_in_crashloopbackoff_with_backoff_events(
        standin: StandInFactory, tmp_path: Path) -> None:
    s = standin(default="crashloop-exit1")
    api = create(s, tmp_path, "cl")
    apply_calico_node(api)
    st = until(lambda: next((p.status.container_statuses[0] for p in calico_pods(api)
                             if p.status.container_statuses[0].state.waiting), None))
    assert st.state.waiting.reason == "CrashLoopBackOff"
    assert (st.last_state.terminated.reason, st.last_state.terminated.exit_code) == ("Error", 1)
    events = client.CoreV1Api(api).list_namespaced_event("kube-system").items
    assert any(e.reason == "BackOff" and e.message.startswith(
        "Back-off restarting failed container calico-node in pod calico-node-") for e in events)


def test_never_ready_bird_pods_run_unready_with_the_bird_socket_message(
        standin: StandInFactory, tmp_path: Path) -> None:
    s = standin(default="never-ready-bird")
    api = create(s, tmp_path, "nb")
    apply_calico_node(api)
    v1 = client.CoreV1Api(api)
    ev = until(lambda: [e for e in v1.list_namespaced_event("kube-system").items
                        if e.reason == "Unhealthy"])
    assert "BIRD is not ready: Error querying BIRD: unable to connect to BIRDv4 socket" in (
        ev[0].message)
    assert all(p.status.phase == "Running" and not p.status.container_statuses[0].ready
               for p in calico_pods(api))


def test_previous_logs_of_a_container_that_never_restarted_are_a_400(
        standin: StandInFactory, tmp_path: Path) -> None:
    s = standin()
    api = create(s, tmp_path, "lg")
    apply_calico_node(api)
    name = calico_pods(api)[0].metadata.name
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(api).read_namespaced_pod_log(name, "kube-system",
                                                      container="calico-node", previous=True)
    assert err.value.status == 400
    assert f'previous terminated container \\"calico-node\\" in pod \\"{name}\\" not found' in (
        err.value.body)


def test_a_too_old_resource_version_gets_410_after_compaction(standin: StandInFactory,
                                                              tmp_path: Path) -> None:
    s = standin(default="gone-410")
    api = create(s, tmp_path, "g")
    v1 = client.CoreV1Api(api)
    old = v1.list_namespaced_pod("kube-system").metadata.resource_version
    apply_calico_node(api)
    cluster = s.cluster("g")
    assert until(lambda: cluster.store.horizon > int(old))
    with pytest.raises(ApiException) as err:
        for _ in watch.Watch().stream(v1.list_namespaced_pod, "kube-system",
                                      resource_version=old, timeout_seconds=2):
            pass
    assert err.value.status == 410
    assert f"too old resource version: {old}" in str(err.value.reason)


def test_the_watch_drop_scenario_cuts_open_streams(standin: StandInFactory,
                                                   tmp_path: Path) -> None:
    s = standin(default="watch-drop")
    api = create(s, tmp_path, "wd")
    v1 = client.CoreV1Api(api)
    rv = v1.list_namespaced_pod("kube-system").metadata.resource_version
    apply_calico_node(api)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        for _ in watch.Watch().stream(v1.list_namespaced_pod, "kube-system",
                                      resource_version=rv, timeout_seconds=5):
            pass
    assert s.cluster("wd").dropped_watches == 1


def test_api_requests_are_counted_by_verb_and_resource(standin: StandInFactory,
                                                       tmp_path: Path) -> None:
    s = standin()
    api = create(s, tmp_path, "n")
    apply_calico_node(api)
    calico_pods(api)
    calico_pods(api)
    counts = s.requests("n")
    assert counts["patch daemonsets"] == 1
    assert counts["list pods"] == 2


@pytest.mark.parametrize("name", ["sandbox-fails", "image-pull", "oom", "flapping"])
def test_each_scenario_produces_the_events_it_declares(standin: StandInFactory, tmp_path: Path,
                                                       name: str) -> None:
    from standin.scenarios import SCENARIOS

    scenario = SCENARIOS[name]
    declared = {e.reason for step in scenario.steps + scenario.cycle for e in step.events}
    s = standin(default=name)
    api = create(s, tmp_path, "ev")
    apply_calico_node(api)
    v1 = client.CoreV1Api(api)
    seen = until(lambda: declared <= {e.reason for e in v1.list_namespaced_event(
        "kube-system").items if e.involved_object.name.startswith("calico-node-")})
    assert seen, f"{name}: expected events {sorted(declared)}"
    phases = {p.status.phase for p in calico_pods(api)}
    assert phases == ({"Pending"} if scenario.pending else {"Running"})
