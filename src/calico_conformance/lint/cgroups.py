"""Cgroup-driver rules: the kubelet's driver against runc's, the report's prime suspect."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding, Verdict
from .context import CGROUP_REFS, LintContext, default_runtime, is_runc

# Observed, not only read: the node tier's cgroup v2 VM nodes (Debian kernel 6.1, systemd
# as PID 1) on bookworm/containerd 1.6.20, trixie/1.7.24 and trixie+sid/2.1.9, 2026-12-07
# (docs/observed/v2-node-table/matrix.md), and its cgroup v1 Docker nodes on this host.
OBSERVED_V2 = ("docs/observed/v2-node-table/matrix.md: restarts (killed-exit-0) on cgroup v2 "
               "nodes with containerd 1.6.20, 1.7.24 and 2.1.9, observed 2026-12-07")


def cgroup_driver(ctx: LintContext) -> Iterator[Finding]:
    rt = default_runtime(ctx)
    if rt is None or not is_runc(rt) or ctx.view.cri_disabled:
        return
    table = f"{rt.table}.options"
    systemd = bool(rt.systemd_cgroup)
    if ctx.kubelet_cgroup_driver == "systemd" and not systemd:
        state = "false" if rt.systemd_cgroup is False else "unset (containerd's default: false)"
        # kubelet on systemd, runc on cgroupfs: sandboxes are killed and recreated
        # (SandboxChanged) -- kubernetes/kubernetes#110177, containerd/containerd#7276.
        yield ctx.finding(
            "CC001", "error",
            f"the kubelet uses the systemd cgroup driver but the default runtime "
            f"{rt.name!r} has SystemdCgroup {state}: runc puts containers outside their pod "
            "slice; on cgroup v2 the kubelet's QoS update then makes systemd drop cpuset from "
            "the empty slice and the kubelet kills the pod (Completed, exit 0, SandboxChanged)"
            ", again and again (observed on containerd 1.6, 1.7 and 2.1; on cgroup v1 the pod "
            "stays up, also observed)",
            table=table, key="SystemdCgroup", predicted=Verdict.RESTARTS.value,
            references=(OBSERVED_V2, *CGROUP_REFS),
            fix=f"Set SystemdCgroup = true under [{table}].",
            line=ctx.locate(table, "SystemdCgroup") or ctx.locate(rt.table))
    elif ctx.kubelet_cgroup_driver == "cgroupfs" and systemd:
        # runc refuses a cgroupfs-style path when told to use systemd:
        # 'expected cgroupsPath to be of format "slice:prefix:name"' (containerd/containerd#4857).
        yield ctx.finding(
            "CC002", "error",
            f"the kubelet uses the cgroupfs driver but the default runtime {rt.name!r} has "
            "SystemdCgroup = true: runc refuses every sandbox (expected cgroupsPath to be of "
            'format "slice:prefix:name")',
            table=table, key="SystemdCgroup", predicted=Verdict.CLUSTER_FAILS.value,
            references=("https://github.com/containerd/containerd/issues/4857", CGROUP_REFS[2]),
            fix="Use one driver on both sides: kubelet cgroupDriver: systemd with "
                "SystemdCgroup = true (or cgroupfs with SystemdCgroup = false).")
