"""The virtual-machine node backend: a cgroup v2 node with systemd as PID 1, under qemu.

As measured in ``shared/research/vm-cgroupv2.md``: qemu boots the image built by
:mod:`.vm_image` with ``snapshot=on`` (writes never reach the image; tear-down is a kill
by PID), under KVM only where real KVM (``kvm_intel``/``kvm_amd``) is loaded and under
TCG emulation otherwise (a PVM ``/dev/kvm`` boots no stock kernel). User networking with
``restrict=on`` forwards two loopback ports: CRI, and a shell that runs one script per
connection. Readiness is the guest's ``VMNODE-READY`` line on its serial console, never a
fixed sleep. Each node is named in the run's ``started.jsonl`` (PID and start time) before
qemu starts, so ``clean`` and the next run kill only that process.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shlex
import shutil
import socket
import tempfile
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import platformdirs

from .. import runrecord, tools
from ..clock import Clock
from ..errors import NodeUnavailable, ProbeError
from ..signals import shielded
from .vm_image import CRI_PORT, READY, SHELL_PORT, VmImage, image_dir, kernel_package

NAME_PREFIX = "ccvm-"
DIR_PREFIX = NAME_PREFIX  # the node's serial log directory (its name first), under the temp dir
BOOT_BUDGET_S = 300.0  # TCG boots took 20-115 s on 2 shared cores (research §2.3)
MEMORY_MIB = 1024
QEMU = "qemu-system-x86_64"
ADAPTATIONS = (
    "a virtual machine instead of a container: Debian's kernel under qemu, systemd as PID 1 "
    "on the unified cgroup v2 hierarchy",
    "network: qemu user-mode networking with restrict=on (nothing leaves the machine), a "
    "static 10.0.2.15/24 with a default route as a kind node has",
    "CRI and a shell reached over forwarded loopback ports (systemd-socket-proxyd to "
    "containerd's socket; a socket-activated bash)",
)


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("calico-conformance"))


def accel() -> tuple[list[str], str]:
    """qemu's accelerator arguments and why: KVM only where it can boot a stock kernel."""
    real = [m for m in ("kvm_intel", "kvm_amd") if Path(f"/sys/module/{m}").exists()]
    if real and os.access("/dev/kvm", os.R_OK | os.W_OK):
        return ["-accel", "kvm", "-cpu", "host"], f"kvm ({real[0]})"
    why = ("/dev/kvm is kvm_pvm, which boots only PVM guest kernels"
           if Path("/sys/module/kvm_pvm").exists() else "no kvm_intel/kvm_amd loaded")
    return ["-accel", "tcg,thread=multi,tb-size=256", "-cpu", "max"], f"tcg ({why})"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def qemu_argv(image: VmImage, cri: int, shell: int, snapshot: bool = True,
              name: str = "") -> list[str]:
    args, _why = accel()
    drive = f"file={image.root},format=raw,if=virtio" + (",snapshot=on" if snapshot else "")
    return [QEMU, *(["-name", name] if name else []), *args, "-m", str(MEMORY_MIB), "-smp", "2",
            "-nodefaults", "-no-user-config",
            "-display", "none", "-serial", "stdio", "-no-reboot",
            "-kernel", str(image.kernel), "-initrd", str(image.initrd),
            "-append", "console=ttyS0 root=/dev/vda rw panic=-1 "
                       "systemd.unified_cgroup_hierarchy=1",
            "-drive", drive,
            "-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{cri}-:{CRI_PORT},"
                       f"hostfwd=tcp:127.0.0.1:{shell}-:{SHELL_PORT}",
            "-device", "virtio-net-pci,netdev=n0"]


@dataclass
class VmNode:
    image: VmImage
    run_id: str
    clock: Clock
    name: str = ""
    facts: dict[str, str] = field(default_factory=dict)
    dir: Path = field(default_factory=Path)
    cri_port: int = 0
    shell_port: int = 0
    daemon: tools.Daemon | None = None
    snapshot: bool = True

    @property
    def cri_endpoint(self) -> str:
        return f"127.0.0.1:{self.cri_port}"

    def exec(self, *argv: str, timeout: float = 60, stdin: str | None = None) -> tuple[int, str]:
        """Run ``argv`` in the guest (stdout and stderr together, as ``docker exec``)."""
        cmd = shlex.join(argv)
        if stdin is not None:
            data = base64.b64encode(stdin.encode()).decode()
            cmd = f"printf %s {data} | base64 -d | {cmd}"
        script = f"{cmd} 2>&1\necho; echo __RC=$?\nexit\n"
        try:
            with socket.create_connection(("127.0.0.1", self.shell_port), timeout=timeout) as s:
                s.sendall(script.encode())
                s.shutdown(socket.SHUT_WR)
                chunks = []
                while chunk := s.recv(65536):
                    chunks.append(chunk)
        except OSError as exc:
            return 255, f"node shell channel: {exc}"
        out = b"".join(chunks).decode(errors="replace")
        body, _, rc = out.rpartition("__RC=")
        if not rc.strip().isdigit():
            return 255, out.strip()
        return int(rc.strip()), body.strip()

    def start(self, record: Path | None = None) -> None:
        token = uuid.uuid4().hex[:8]
        self.cri_port, self.shell_port = free_port(), free_port()
        self.name = f"{NAME_PREFIX}{self.run_id[:20]}-{token}"
        argv = qemu_argv(self.image, self.cri_port, self.shell_port, self.snapshot, self.name)
        with shielded():  # the VM and its record appear together, or not at all
            self.dir = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
            self.daemon = tools.spawn(argv, self.dir / "serial.log")
            runrecord.append(record, "node", backend="vm", name=self.name, run_id=self.run_id,
                             pid=self.daemon.pid, ticks=runrecord.start_ticks(self.daemon.pid),
                             dir=str(self.dir))
        self.facts.update({"backend": "vm", "node_name": self.name,
                           "node_image": str(self.image.dir.name),
                           "accel": accel()[1], "kernel": self.kernel()})
        for i, line in enumerate(ADAPTATIONS):
            self.facts[f"adaptation{i + 1}"] = line
        t0 = self.clock.monotonic()
        self.wait_ready()
        self.facts["seconds_to_ready"] = f"{self.clock.monotonic() - t0:.1f}"

    def kernel(self) -> str:
        path = self.image.dir / "kernel.txt"
        return path.read_text().split()[0] if path.is_file() else "unknown"

    def wait_ready(self) -> None:
        """Wait for the guest's readiness line (an event), within the boot budget."""
        assert self.daemon is not None
        deadline = self.clock.monotonic() + BOOT_BUDGET_S
        while self.clock.monotonic() < deadline:
            text = self.daemon.log_text()
            if READY in text:
                return
            if not self.daemon.alive():
                raise NodeUnavailable(f"qemu exited before the VM node was ready: "
                                      f"{tools.last_line(text)}")
            self.clock.sleep(0.5)
        raise NodeUnavailable(f"the VM node did not boot within its budget of "
                              f"{BOOT_BUDGET_S:.0f}s (last serial line: "
                              f"{tools.last_line(self.daemon.log_text())})")

    def serial(self) -> str:
        return self.daemon.log_text() if self.daemon is not None else ""

    def teardown(self) -> list[str]:
        problems: list[str] = []
        if self.daemon is not None and self.daemon.stop(grace=0.0) is None:
            problems.append(f"qemu {self.daemon.pid} survived SIGKILL")
        if self.dir != Path() and self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)
        return problems


@lru_cache(maxsize=1)
def _kernel_package() -> str:
    return kernel_package()


class VmBackend:
    """Nodes as qemu virtual machines: cgroup v2, a kernel of the node's own."""

    name = "vm"
    reusable = True  # a boot is 16-21 s of a cell's time under TCG: one VM serves many

    def __init__(self, binary: str | None = None) -> None:
        self.qemu = tools.which(QEMU, binary)

    def unavailable(self) -> str | None:
        if self.qemu is None:
            return f"{QEMU} not found (apt-get install qemu-system-x86)"
        return None

    def image(self, tag: str) -> VmImage:
        return image_dir(cache_dir(), tag, _kernel_package())

    def image_missing(self, tag: str, recipe: str) -> str | None:
        try:
            image = self.image(tag)
        except ProbeError as exc:
            return str(exc)
        if not image.primed:
            return (f"VM node image for {recipe} is not built (run: calico-conformance nodes "
                    f"build --backend vm {recipe})")
        return None

    def node(self, tag: str, run_id: str, clock: Clock) -> VmNode:
        return VmNode(self.image(tag), run_id, clock)

    def reap(self, entry: dict[str, object], clock: Clock) -> list[str] | None:
        """Kill the recorded qemu only if that PID is still the process started then."""
        name, pid, ticks, where = (entry.get("name"), entry.get("pid"), entry.get("ticks"),
                                   entry.get("dir"))
        if not (isinstance(name, str) and name.startswith(NAME_PREFIX) and isinstance(pid, int)
                and isinstance(where, str) and Path(where).name.startswith(DIR_PREFIX)
                and Path(where).parent == Path(tempfile.gettempdir())):
            return None
        done = []
        recorded = ticks if isinstance(ticks, int) else None
        if runrecord.alive(pid, recorded) and not runrecord.ours(pid, recorded, "qemu", name):
            done.append(f"process {pid} left alone: not the recorded qemu")
        elif runrecord.alive(pid, recorded):
            tools.kill_pid(pid)
            for _ in range(100):  # until the kernel has reaped it (bounded: 10 s)
                if not runrecord.alive(pid, recorded):
                    break
                clock.sleep(0.1)
            done.append(f"qemu {pid} killed")
        if Path(where).exists():
            shutil.rmtree(where, ignore_errors=True)
            done.append("serial log directory removed")
        return done

    def live(self) -> dict[str, str]:
        """Every qemu of ours running now, by the ``-name`` it was started with (its run
        is what the record says; the name alone does not hold the whole run id)."""
        out: dict[str, str] = {}
        for proc in Path("/proc").glob("[0-9]*"):
            with contextlib.suppress(OSError):
                argv = (proc / "cmdline").read_bytes().split(b"\0")
                if argv and argv[0].endswith(QEMU.encode()) and b"-name" in argv:
                    name = argv[argv.index(b"-name") + 1].decode(errors="replace")
                    if name.startswith(NAME_PREFIX):
                        out[name] = ""
        return out


def prime(image: VmImage, clock: Clock) -> float:
    """Boot once without the snapshot, import the local images, power off cleanly, so
    every cell boots a node that is ready at once; returns the seconds it took."""
    node = VmNode(image, "prime", clock, snapshot=False)
    t0 = clock.monotonic()
    try:
        node.start()
        for tar in ("sandbox.tar", "workload.tar"):
            rc, out = node.exec("ctr", "-n", "k8s.io", "images", "import",
                                f"/opt/calico-conformance/images/{tar}", timeout=300)
            if rc != 0:
                raise ProbeError(f"priming: ctr images import {tar} failed: {out}")
        node.exec("sh", "-c", "sync; systemctl poweroff --no-block", timeout=60)
        assert node.daemon is not None
        with contextlib.suppress(Exception):
            node.daemon.proc.wait(timeout=120)
        (image.dir / "primed").write_text("")
        return clock.monotonic() - t0
    finally:
        node.teardown()
