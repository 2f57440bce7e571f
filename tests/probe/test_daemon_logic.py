"""Tear-down finds what is ours from /proc alone: mounts, processes, shim sockets."""

from __future__ import annotations

from pathlib import Path

from calico_conformance.cri.pods import cgroup_parent
from calico_conformance.probe.daemon import ProcInfo, owned_pids, shim_socket
from calico_conformance.tools import mounts_under

MOUNTINFO = """\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
42 27 0:39 / /w/p/state/cri/sandboxes/abc/shm rw - tmpfs shm rw
45 27 0:40 / /w/p/state/task/k8s.io/abc/rootfs rw - overlay overlay rw,lowerdir=/x
46 45 0:41 / /w/p/state/task/k8s.io/abc/rootfs/dev rw - tmpfs tmpfs rw
47 27 0:42 / /w/p\\040two/x rw - tmpfs tmpfs rw
48 27 0:43 / /w/pother rw - tmpfs tmpfs rw
"""


def test_mounts_under_the_probe_dirs_are_listed_deepest_first_and_only_those() -> None:
    got = mounts_under([Path("/w/p")], MOUNTINFO)
    assert got == ["/w/p/state/task/k8s.io/abc/rootfs/dev", "/w/p/state/cri/sandboxes/abc/shm",
                   "/w/p/state/task/k8s.io/abc/rootfs"]
    assert mounts_under([Path("/w/p two")], MOUNTINFO) == ["/w/p two/x"]


def _p(pid: int, ppid: int, pgid: int, *argv: str, state: str = "S") -> ProcInfo:
    return ProcInfo(pid, ppid, pgid, state, argv)


def test_owned_processes_are_the_daemon_group_the_shims_naming_our_socket_and_their_children(
        ) -> None:
    sock = "/w/p/containerd.sock"
    table = {p.pid: p for p in [
        _p(100, 1, 100, "containerd", "--address", sock),
        _p(101, 100, 100, "containerd-shim-runc-v2", "start"),
        _p(200, 1, 200, "containerd-shim-runc-v2", "-namespace", "k8s.io", "-address", sock),
        _p(201, 200, 201, "/bin/sleep", "2147483647"),
        _p(202, 201, 201, "/bin/sh"),
        _p(300, 1, 300, "containerd-shim-runc-v2", "-address", "/other.sock"),
        _p(301, 300, 301, "/bin/sleep", "1"),
        _p(400, 1, 400, "[containerd-shim]", state="Z"),
        _p(401, 200, 200, "zombie child", state="Z"),
    ]}
    assert owned_pids(sock, 100, table) == {100, 101, 200, 201, 202}
    assert owned_pids(sock, None, table) == {100, 101, 200, 201, 202}
    assert owned_pids("/nobody.sock", None, table) == set()


def test_the_shim_socket_path_is_containerd_16s_hash_of_address_namespace_and_id() -> None:
    # Observed: containerd 1.6.20 with address /tmp/exp/c.sock created this socket.
    sid = "5cf77aa2f8c70d5169395827016e8fa435f6a00e9126cbcb58aa55942e500766"
    assert shim_socket("/tmp/exp/c.sock", sid) == Path(
        "/run/containerd/s/f234cb1057230b1e3ea29678b1efc1103d4d5320e0291548af5ea2d23c9c853a")


def test_the_cgroup_parent_takes_the_kubelet_drivers_format_and_carries_the_token() -> None:
    assert cgroup_parent("cgroupfs", ("ccprobetok",), "a-b") == "/ccprobetok/poda-b"
    slice_ = cgroup_parent("systemd", ("ccprobetok",), "a-b")
    assert slice_ == "ccprobetok-poda_b.slice"  # the uid's dashes would nest slices
    assert cgroup_parent("systemd", ("kubepods", "besteffort"), "a-b") == (
        "kubepods-besteffort-poda_b.slice")
