"""The virtual-machine node backend: a cgroup v2 node under qemu.

The pure parts run everywhere; the real ones boot a VM node (marked ``realvm``) and skip
with the reason where qemu or a built VM image is missing.
"""

from __future__ import annotations

import lzma
import socket
import tempfile
import threading
from pathlib import Path

import pytest

from calico_conformance import runrecord
from calico_conformance.catalog import Catalog
from calico_conformance.cells import NodeCell, Target
from calico_conformance.clock import SystemClock
from calico_conformance.model import Verdict
from calico_conformance.node import PodTemplate, backend, parity, run_cell
from calico_conformance.node.pool import REUSE_FACT, NodePool
from calico_conformance.node.recipes import Recipe
from calico_conformance.node.vm_image import VmImage, image_dir, vmlinux
from calico_conformance.node.vm_node import (
    DIR_PREFIX,
    NAME_PREFIX,
    VmBackend,
    VmNode,
    accel,
    qemu_argv,
)
from calico_conformance.settings import NodeSettings

IMAGE = VmImage(Path("/x"), Path("/x/vmlinux"), Path("/x/initrd.gz"), Path("/x/root.img"))


def test_qemu_boots_the_image_as_a_snapshot_with_only_loopback_forwards() -> None:
    argv = qemu_argv(IMAGE, 4001, 4002)
    joined = " ".join(argv)
    assert "file=/x/root.img,format=raw,if=virtio,snapshot=on" in joined
    assert "restrict=on" in joined  # the guest reaches nothing outside
    assert "hostfwd=tcp:127.0.0.1:4001-:10010" in joined
    assert "hostfwd=tcp:127.0.0.1:4002-:10022" in joined
    assert "systemd.unified_cgroup_hierarchy=1" in joined
    assert "snapshot=on" not in " ".join(qemu_argv(IMAGE, 1, 2, snapshot=False))
    named = qemu_argv(IMAGE, 1, 2, name="ccvm-run-1")
    assert named[1:3] == ["-name", "ccvm-run-1"]  # how `clusters list` finds it running


def test_kvm_is_used_only_where_real_kvm_is_loaded() -> None:
    args, why = accel()
    real = any(Path(f"/sys/module/{m}").exists() for m in ("kvm_intel", "kvm_amd"))
    assert ("kvm" in args) == (real and why.startswith("kvm"))
    if not real:
        assert args[1].startswith("tcg") and why.startswith("tcg (")


def test_the_image_is_keyed_by_the_node_image_the_layout_and_the_kernel(tmp_path: Path) -> None:
    a = image_dir(tmp_path, "calico-conformance/node:trixie-abc", "linux-image-6.1.0-57-amd64")
    assert a.dir.name.startswith("trixie-abc-")
    assert a.dir != image_dir(tmp_path, "calico-conformance/node:trixie-abc",
                              "linux-image-6.1.0-58-amd64").dir
    assert a.dir != image_dir(tmp_path, "calico-conformance/node:trixie-abd",
                              "linux-image-6.1.0-57-amd64").dir


def test_the_kernel_elf_is_taken_out_of_the_bzimage(tmp_path: Path) -> None:
    elf = b"\x7fELF" + bytes(100)
    (tmp_path / "vmlinuz").write_bytes(b"MZ setup code" + lzma.compress(elf))
    assert vmlinux(tmp_path / "vmlinuz", tmp_path / "vmlinux").read_bytes() == elf
    (tmp_path / "plain").write_bytes(b"MZ no xz here")
    assert vmlinux(tmp_path / "plain", tmp_path / "out").read_bytes() == b"MZ no xz here"


def _shell(reply: bytes) -> tuple[int, threading.Thread, list[bytes]]:
    """A one-connection stand-in for the guest's socket-activated bash."""
    srv = socket.create_server(("127.0.0.1", 0))
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
            got.append(data)
            conn.sendall(reply)
        srv.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv.getsockname()[1], t, got


def test_the_shell_channel_sends_one_script_and_reads_the_exit_code() -> None:
    port, t, got = _shell(b"hello\n\n__RC=3\n")
    node = VmNode(IMAGE, "r", SystemClock(), shell_port=port)
    assert node.exec("echo", "it's", stdin="data\n") == (3, "hello")
    t.join(5)
    script = got[0].decode()
    assert "base64 -d | echo 'it'\"'\"'s'" in script and script.endswith("exit\n")


def test_a_shell_that_answers_nothing_is_our_trouble_not_a_result() -> None:
    port, t, _ = _shell(b"")
    rc, _out = VmNode(IMAGE, "r", SystemClock(), shell_port=port).exec("true")
    t.join(5)
    assert rc == 255


def test_the_reaper_kills_a_recorded_qemu_only_by_its_recorded_pid_and_start_time(
        tmp_path: Path) -> None:
    vm = VmBackend()
    assert vm.reap({"name": "ccnode-x", "pid": 1, "dir": "/tmp/ccvm-x"}, SystemClock()) is None
    where = Path(tempfile.mkdtemp(prefix=f"{DIR_PREFIX}test-"))
    entry = {"name": f"{NAME_PREFIX}r-1", "pid": 999_999_999, "ticks": 1, "dir": str(where)}
    assert vm.reap(entry, SystemClock()) == ["serial log directory removed"]
    assert not where.exists()
    # A live PID whose start time differs is someone else's process: left alone.
    import os

    mine = {**entry, "pid": os.getpid(), "ticks": (runrecord.start_ticks(os.getpid()) or 0) + 1}
    assert vm.reap(mine, SystemClock()) == []


# --- real virtual machines ------------------------------------------------------------------

def _vm_image(recipes: dict[str, Recipe], name: str) -> str:
    nodes = backend("vm")
    reason = nodes.unavailable() or nodes.image_missing(recipes[name].tag, name)
    if reason:
        pytest.skip(f"vm node tier unavailable: {reason}")
    return recipes[name].tag


@pytest.mark.realvm
def test_on_cgroup_v2_the_driver_mismatch_is_killed_exit_0_and_the_control_is_stable(
        catalog: Catalog, recipes: dict[str, Recipe], run_id: str) -> None:
    """The original report's mechanism, observed: runc on cgroupfs puts the container
    outside its empty pod slice; the kubelet's QoS update makes systemd drop cpuset from
    it; the pod-cgroup check kills the pod, Completed/0, again and again. The control
    then runs on the same VM, reset between the cells: a slice the mismatch left without
    cpuset would make it fail, so its ``stable`` shows the reset is clean."""
    tag = _vm_image(recipes, "trixie")
    pool = NodePool()
    results = []
    try:
        for variant in ("systemd-cgroup-off", "baseline"):
            cell = NodeCell(Target(catalog.variants[variant], catalog.kind["v0.24.0"]),
                            "trixie", backend="vm")
            results.append(run_cell(cell, backend("vm"), tag, NodeSettings(),
                                    parity=parity.load(catalog.root), run_id=run_id,
                                    clock=SystemClock(), pod=PodTemplate(), pool=pool))
    finally:
        assert pool.close() == []
    mismatch, control = results
    assert mismatch.axes.backend == "vm" and mismatch.axes.cgroup == "v2"
    assert mismatch.verdict is Verdict.RESTARTS, mismatch.evidence.error
    assert mismatch.subtype == "killed-exit-0"
    assert "has some missing controllers: cpuset" in mismatch.evidence.error
    assert mismatch.evidence.restarts >= 2 and set(mismatch.evidence.exit_codes) == {0}
    assert mismatch.config_check.host["in_pod_cgroup"] == "unified=no"
    assert control.verdict is Verdict.STABLE, control.evidence.error
    assert control.config_check.host["in_pod_cgroup"] == "unified=yes"
    assert control.config_check.host[REUSE_FACT].startswith("cell 2 on this node")
    assert control.config_check.host["node_name"] == mismatch.config_check.host["node_name"]
    assert not list(Path(tempfile.gettempdir()).glob(f"{NAME_PREFIX}{run_id}-*"))
