"""Path rules: where the kubelet looks for CRI and where Calico installs its CNI plugin.

Both were found by running real-world configs on the node tier (issue #19): a config can
be accepted by containerd and still leave the node unusable, because the kubelet and
Calico's install-cni look in fixed places.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..containerd.config import table_name
from ..model import Finding, Verdict
from .context import LintContext

# kubeadm's and kind's default --container-runtime-endpoint
# (kind pkg/cluster/internal/kubeadm/config.go: criSocket unix:///run/containerd/containerd.sock).
KUBELET_CRI_ENDPOINT = "/run/containerd/containerd.sock"
# calico.yaml's hostPath volumes cni-bin-dir and cni-net-dir (v3.26.4 and v3.28.2 manifests:
# install-cni copies the plugin binaries and writes 10-calico.conflist there).
CALICO_CNI_BIN_DIR = "/opt/cni/bin"
CALICO_CNI_CONF_DIR = "/etc/cni/net.d"


def grpc_address(ctx: LintContext) -> Iterator[Finding]:
    grpc = ctx.view.data.get("grpc")
    address = grpc.get("address") if isinstance(grpc, dict) else None
    if not isinstance(address, str) or address in ("", KUBELET_CRI_ENDPOINT):
        return
    yield ctx.finding(
        "CC016", "error",
        f"[grpc] address = {address!r}: containerd serves CRI there, but the kubelet looks at "
        f"unix://{KUBELET_CRI_ENDPOINT} (kubeadm's and kind's default), finds no runtime and "
        "the node never becomes Ready",
        table="grpc", key="address", predicted=Verdict.CLUSTER_FAILS.value,
        references=("https://kubernetes.io/docs/setup/production-environment/"
                    "container-runtimes/#containerd",),
        fix=f'Remove the address line (containerd\'s default is {KUBELET_CRI_ENDPOINT}), or '
            f"point the kubelet's --container-runtime-endpoint at unix://{address}.")


def cni_dirs(ctx: LintContext) -> Iterator[Finding]:
    view = ctx.view
    if view.cri_disabled:
        return
    cni = view.get(view.layout.cni)
    if not isinstance(cni, dict):
        return
    table = table_name(*view.layout.cni)
    bin_dirs = cni.get("bin_dirs")  # containerd >= 2.1: a list, searched in order
    bins = ([d for d in bin_dirs if isinstance(d, str)] if isinstance(bin_dirs, list)
            else [cni["bin_dir"]] if isinstance(cni.get("bin_dir"), str) else [])
    if bins and CALICO_CNI_BIN_DIR not in [b.rstrip("/") or "/" for b in bins]:
        key = "bin_dirs" if isinstance(bin_dirs, list) else "bin_dir"
        yield ctx.finding(
            "CC017", "warning",
            f"CNI {key} = {bins if key == 'bin_dirs' else bins[0]!r}: Calico's manifest "
            f"installs its CNI plugins into {CALICO_CNI_BIN_DIR}, so containerd never finds "
            "them; calico-node (host network) stays up, every other pod's sandbox fails "
            "its network setup",
            table=table, key=key,
            references=("https://docs.tigera.io/calico/latest/getting-started/kubernetes/"
                        "self-managed-onprem/onpremises",),
            fix=f'Set {key} = {"[" if key == "bin_dirs" else ""}"{CALICO_CNI_BIN_DIR}"'
                f'{"]" if key == "bin_dirs" else ""}, or change the manifest\'s cni-bin-dir '
                "hostPath to match.")
    conf = cni.get("conf_dir")
    if isinstance(conf, str) and conf.rstrip("/") != CALICO_CNI_CONF_DIR:
        yield ctx.finding(
            "CC017", "warning",
            f"CNI conf_dir = {conf!r}: Calico's manifest writes 10-calico.conflist into "
            f"{CALICO_CNI_CONF_DIR}, so containerd never loads it; every pod but the "
            "host-network ones fails its network setup",
            table=table, key="conf_dir",
            references=("https://docs.tigera.io/calico/latest/getting-started/kubernetes/"
                        "self-managed-onprem/onpremises",),
            fix=f'Set conf_dir = "{CALICO_CNI_CONF_DIR}", or change the manifest\'s '
                "cni-net-dir hostPath to match.")
