"""HostFacts for pure-logic tests: the CI host here, and a systemd node."""

from __future__ import annotations

from dataclasses import replace

from calico_conformance.probe.host import HostFacts

NO_SYSTEMD = HostFacts(
    is_root=True, containerd_bin="/usr/bin/containerd", containerd_version="1.6.20~ds1",
    ctr_bin="/usr/bin/ctr", runc_bin="/usr/sbin/runc", runc_version="1.1.5+ds1",
    cgroup_version="v1", init_comm="process_api", can_lower_oom_score=False,
    overlay_supported=True, busybox="/bin/busybox",
)
SYSTEMD_NODE = replace(NO_SYSTEMD, init_comm="systemd", can_lower_oom_score=True,
                       cgroup_version="v2")
