"""What ``kind create cluster`` and ``kind export logs`` do, minus Docker.

A created cluster is a :class:`~.cluster.Cluster` plus, per node container, the
files ``docker exec`` can read; failures and logs carry the text kind and
containerd print, so production parsers meet real wording. Output strings follow
kind (pkg/cluster/internal/create, pkg/cluster/internal/logs).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from calico_conformance.catalog import Catalog
from calico_conformance.cells import KindRelease
from calico_conformance.containerd import apply_kind_patches
from calico_conformance.errors import ConformanceError

from .cluster import Cluster, NodeInfo, scenario_for
from .fakedocker import DOCKER_DOWN, Result, _docker_info_text
from .registry import NodeRuntime, State


class KindError(Exception):
    """Printed by the CLI as ``ERROR: <message>`` with exit status 1, as kind does."""


def resolve(cwd: str, path: str) -> Path:
    p = Path(os.path.expanduser(path))
    return p if p.is_absolute() else Path(cwd) / p


def _release(state: State, image: str) -> KindRelease:
    releases = Catalog(state.repo_root / "clusters").kind
    digest = image.partition("@")[2]
    for rel in releases.values():
        if any(img == image or (digest and img.endswith(digest)) for img in rel.images.values()):
            return rel
    return releases[state.kind_version]


def _default_image(state: State) -> str:
    rel = Catalog(state.repo_root / "clusters").kind[state.kind_version]
    key = max(rel.images, key=lambda v: tuple(int(x) for x in v.split(".")))
    return rel.images[key].split("@")[0]


def create(state: State, fl: dict[str, str], cwd: str, env: dict[str, str], stdin: str) -> Result:
    if not state.docker_works:
        raise KindError("failed to create cluster: failed to get docker info: command "
                        "\"docker info --format '{{json .}}'\" failed with error: exit status 1\n"
                        f"Command Output: {DOCKER_DOWN.strip()}")
    config: dict[str, Any] = {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4"}
    if "config" in fl:
        src = fl["config"]
        try:
            text = stdin if src == "-" else resolve(cwd, src).read_text(encoding="utf-8")
            config = yaml.safe_load(text) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise KindError(f"failed to create cluster: error reading file: {exc}") from exc
        if config.get("apiVersion") != "kind.x-k8s.io/v1alpha4" or config.get("kind") != "Cluster":
            raise KindError(f"failed to create cluster: unknown apiVersion: "
                            f"{config.get('apiVersion')}")
    name = fl.get("name") or fl.get("n") or config.get("name") or "kind"
    nodes = config.get("nodes") or [{"role": "control-plane"}]
    image = fl.get("image") or nodes[0].get("image") or _default_image(state)
    if name in state.clusters:
        raise KindError(f'failed to create cluster: node(s) already exist for a cluster with the '
                        f'name "{name}"')
    scenario = scenario_for(config, state.scenarios, state.default)
    release = _release(state, image)
    try:
        effective = apply_kind_patches(release.base_config_text(),
                                       list(config.get("containerdConfigPatches") or []),
                                       list(config.get("containerdConfigPatchesJSON6902") or []))
    except ConformanceError as exc:
        raise KindError(f"failed to create cluster: failed to patch containerd config: "
                        f"{exc}") from exc
    cluster = Cluster(name, config, image, scenario, state.time_scale, state.stop)
    short = image.split("@")[0]
    err = [f'Creating cluster "{name}" ...\n', f" ✓ Ensuring node image ({short}) 🖼\n",
           " ✓ Preparing nodes " + "📦 " * len(cluster.nodes) + "\n",
           " ✓ Writing configuration 📜\n"]
    workers = [n for n in cluster.nodes if n.role == "worker"]
    drift_node = (workers or cluster.nodes)[0].name if scenario.config_drift else ""
    with state.lock:
        if not scenario.kind_create_fails or "retain" in fl:  # kind deletes failed nodes
            state.clusters[name] = cluster
            for node in cluster.nodes:
                text = _drifted(effective.data) if node.name == drift_node else effective.text
                state.runtimes[node.name] = NodeRuntime(
                    text, release.containerd, _kubelet_config(config, node, release),
                    cluster.kube_version)
    if scenario.kind_create_fails:
        cri = effective.data.get("plugins", {}).get("io.containerd.grpc.v1.cri", {})
        default_rt = str(cri.get("containerd", {}).get("default_runtime_name", "runc"))
        cluster.default_runtime = default_rt
        return 1, "", "".join(err) + " ✗ Starting control-plane 🕹️\n" + _kubeadm_failure(
            cluster, default_rt)
    err.append(" ✓ Starting control-plane 🕹️\n")
    if not (config.get("networking") or {}).get("disableDefaultCNI"):
        err.append(" ✓ Installing CNI 🔌\n")
    err.append(" ✓ Installing StorageClass 💾\n")
    if len(cluster.nodes) > 1:
        err.append(" ✓ Joining worker nodes 🚜\n")
    if fl.get("wait"):
        err += [f" ✓ Waiting ≤ {fl['wait']} for control-plane = Ready ⏳\n",
                " • Ready after 0s 💚\n"]
    kc = resolve(cwd, fl.get("kubeconfig") or env.get("KUBECONFIG") or "~/.kube/config")
    _merge_kubeconfig(kc, kubeconfig_doc(state, name))
    err += [f'Set kubectl context to "kind-{name}"\n', "You can now use your cluster with:\n\n",
            f"kubectl cluster-info --context kind-{name}", f" --kubeconfig {kc}\n" if
            fl.get("kubeconfig") else "\n", "\nHave a nice day! 👋\n"]
    return 0, "", "".join(err)


def _drifted(data: dict[str, Any]) -> str:
    import copy

    import tomli_w
    d = copy.deepcopy(data)
    cri = d.setdefault("plugins", {}).setdefault("io.containerd.grpc.v1.cri", {})
    runc = cri.setdefault("containerd", {}).setdefault("runtimes", {}).setdefault("runc", {})
    runc.setdefault("options", {})["SystemdCgroup"] = False
    return tomli_w.dumps(d)


def _kubelet_config(config: dict[str, Any], node: NodeInfo, release: KindRelease) -> str:
    kubelet: dict[str, Any] = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "cgroupDriver": release.kubelet_cgroup_driver, "cgroupRoot": "/kubelet",
        "clusterDNS": ["10.96.0.10"], "clusterDomain": "cluster.local",
        "containerRuntimeEndpoint": "unix:///run/containerd/containerd.sock",
        "evictionHard": {"imagefs.available": "0%", "nodefs.available": "0%",
                         "nodefs.inodesFree": "0%"},
        "failSwapOn": False, "imageGCHighThresholdPercent": 100,
        "staticPodPath": "/etc/kubernetes/manifests"}
    for patch in list(config.get("kubeadmConfigPatches") or []) + node.kubeadm_patches:
        for doc in yaml.safe_load_all(patch):
            if isinstance(doc, dict) and doc.get("kind") == "KubeletConfiguration":
                kubelet.update({k: v for k, v in doc.items() if k not in ("apiVersion", "kind")})
    return yaml.safe_dump(kubelet, sort_keys=True)


def _kubeadm_failure(cluster: Cluster, default_runtime: str) -> str:
    # Shape of kind's "failed to init node with kubeadm" (kubernetes-sigs/kind#3319) for a node
    # whose containerd did not load its CRI plugin (containerd/containerd#4581).
    cp = cluster.nodes[0].name
    v = cluster.kube_version
    return (
        "ERROR: failed to create cluster: failed to init node with kubeadm: command \"docker exec "
        f"--privileged {cp} kubeadm init --config=/kind/kubeadm.conf --skip-token-print --v=6\" "
        "failed with error: exit status 1\nCommand Output: I1015 09:12:01.123456     152 "
        "initconfiguration.go:261] loading configuration from \"/kind/kubeadm.conf\"\n"
        f"[init] Using Kubernetes version: {v}\n[certs] Using certificateDir folder "
        "\"/etc/kubernetes/pki\"\n[kubelet-start] Starting the kubelet\n"
        "[wait-control-plane] Waiting for the kubelet to boot up the control plane as static Pods "
        "from directory \"/etc/kubernetes/manifests\"\n"
        "[kubelet-check] Waiting for a healthy kubelet at http://127.0.0.1:10248/healthz. This can "
        "take up to 4m0s\n[kubelet-check] The kubelet is not healthy after 4m0.000512817s\n\n"
        "Unfortunately, an error has occurred:\n\tThe HTTP call equal to 'curl -sSL "
        "http://127.0.0.1:10248/healthz' returned error: Get \"http://127.0.0.1:10248/healthz\": "
        "dial tcp 127.0.0.1:10248: connect: connection refused\n\n"
        "This error is likely caused by:\n\t- The kubelet is not running\n\t- The kubelet is "
        "unhealthy due to a misconfiguration of the node in some way (required cgroups disabled)\n"
        "\nIf you are on a systemd-powered system, you can try to troubleshoot the error with the "
        "following commands:\n\t- 'systemctl status kubelet'\n\t- 'journalctl -xeu kubelet'\n\n"
        "W1015 09:16:01.201917     152 checks.go:1080] [preflight] WARNING: container runtime "
        "is not running: E1015 09:16:01.201806     903 remote_runtime.go:633] \"Status from "
        "runtime service failed\" err=\"rpc error: code = Unimplemented desc = unknown service "
        "runtime.v1.RuntimeService\"\n"
        "containerd: level=warning msg=\"failed to load plugin io.containerd.grpc.v1.cri\" "
        f"error=\"invalid plugin config: {_cri_error(default_runtime)}\"\n"
        "couldn't initialize a Kubernetes cluster\n"
        "k8s.io/kubernetes/cmd/kubeadm/app/cmd/phases/init.runWaitControlPlanePhase\n"
        "\tk8s.io/kubernetes/cmd/kubeadm/app/cmd/phases/init/waitcontrolplane.go:112\n"
        "error execution phase wait-control-plane\n")


def _cri_error(default_runtime: str) -> str:
    rt = default_runtime or "runc"
    return (f"no corresponding runtime configured in `containerd.runtimes` for `containerd` "
            f"`default_runtime_name = \\\"{rt}\\\"`")


def kubeconfig_doc(state: State, name: str) -> dict[str, Any]:
    ctx = f"kind-{name}"
    return {"apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": ctx,
            "clusters": [{"name": ctx, "cluster": {"server": f"{state.url}/clusters/{name}"}}],
            "contexts": [{"name": ctx, "context": {"cluster": ctx, "user": ctx}}],
            "users": [{"name": ctx, "user": {}}]}


def _merge_kubeconfig(path: Path, new: dict[str, Any]) -> None:
    doc: dict[str, Any] = {}
    if path.exists():
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key in ("clusters", "contexts", "users"):
        names = {e["name"] for e in new[key]}
        doc[key] = [e for e in doc.get(key) or [] if e.get("name") not in names] + new[key]
    doc.update({k: new[k] for k in ("apiVersion", "kind", "current-context")})
    doc.setdefault("preferences", {})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=True), encoding="utf-8")


def export_logs(state: State, name: str, pos: list[str], cwd: str) -> Result:
    cluster = state.clusters.get(name)
    if cluster is None:
        raise KindError(f'unknown cluster "{name}"')
    out = resolve(cwd, pos[0]) if pos else Path(tempfile.mkdtemp(prefix="kind-logs-"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "kind-version.txt").write_text(f"kind {state.kind_version} go1.22.6 linux/amd64\n")
    (out / "docker-info.txt").write_text(_docker_info_text(state))
    ts = "2024-10-15T09:12:00.000000000Z"
    for node in cluster.nodes:
        d = out / node.name
        d.mkdir(exist_ok=True)
        rt = state.runtimes.get(node.name)
        ver = rt.containerd_version if rt else "1.7.18"
        lines = [f'time="{ts}" level=info msg="starting containerd" '
                 f'revision=ae71819c4f5e67bb4d5ae76a6b735f29cc25774e version=v{ver}',
                 f'time="{ts}" level=info msg="loading plugin \\"io.containerd.grpc.v1.cri\\"..." '
                 'type=io.containerd.grpc.v1']
        kubelet = [f"I1015 09:12:01.000000     201 server.go:484] \"Kubelet version\" "
                   f"kubeletVersion=\"{cluster.kube_version}\""]
        if cluster.failed:
            lines.append(f'time="{ts}" level=warning msg="failed to load plugin '
                         f'io.containerd.grpc.v1.cri" error="invalid plugin config: '
                         f'{_cri_error(cluster.default_runtime)}"')
            kubelet.append("E1015 09:12:01.201806     201 remote_runtime.go:633] \"Status from "
                           "runtime service failed\" err=\"rpc error: code = Unimplemented desc = "
                           "unknown service runtime.v1.RuntimeService\"")
        else:
            lines.append(f'time="{ts}" level=info msg="containerd successfully booted in 0.041s"')
        (d / "containerd.log").write_text("\n".join(lines) + "\n")
        (d / "kubelet.log").write_text("\n".join(kubelet) + "\n")
        (d / "kubernetes-version.txt").write_text(cluster.kube_version + "\n")
        (d / "journal.log").write_text("\n".join(lines + kubelet) + "\n")
        for pod_name, logs in list(cluster.logs.items()):
            pod = cluster.store.get(cluster.rtype("", "pods"), "kube-system", pod_name)
            if pod and pod["spec"]["nodeName"] == node.name:
                pdir = (d / "pods" / f"kube-system_{pod_name}_{pod['metadata']['uid']}"
                        / "calico-node")
                pdir.mkdir(parents=True, exist_ok=True)
                (pdir / "0.log").write_text("\n".join(logs.current) + "\n")
    return 0, f"{out}\n", f'Exporting logs for cluster "{name}" to:\n'
