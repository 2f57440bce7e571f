"""Virtual-machine node images: a recipe's root filesystem booted by Debian's own kernel.

Measured in ``shared/research/vm-cgroupv2.md``: the recipe's Docker node image exported
as the root filesystem, the kernel from Debian's ``linux-image-amd64`` (its version
resolved from the package, never written down here), a busybox initramfs that loads
virtio and ext4 and switches root, and an ext4 image made with ``mkfs.ext4 -d`` (no loop device).
The initramfs also loads the network and overlay modules the guest needs (no
``modules.dep`` is needed, so no ``depmod`` on the host). The guest boots systemd on
cgroup v2; it serves CRI on port 10010 through
``systemd-socket-proxyd`` and a shell on port 10022 through a socket-activated bash, and
says ``VMNODE-READY`` on its serial line when containerd is up. The first boot primes
the image (the local images imported) and powers off; cells boot it with
``snapshot=on``. Everything is cached by the recipe's digest, this layout and the kernel.
"""

from __future__ import annotations

import hashlib
import lzma
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import tools
from ..errors import ProbeError
from .recipes import Recipe

VM_LAYOUT = "1"  # bump when the guest is laid out differently: old images become stale
KERNEL_META = "linux-image-amd64"
# Loaded by the initramfs, in this order (virtio_ring before virtio: research §2.1).
INITRD_MODULES = ("drivers/virtio/virtio_ring", "drivers/virtio/virtio",
                  "drivers/virtio/virtio_pci_legacy_dev", "drivers/virtio/virtio_pci_modern_dev",
                  "drivers/virtio/virtio_pci", "drivers/block/virtio_blk", "lib/crc16",
                  "fs/mbcache", "fs/jbd2/jbd2", "crypto/crc32c_generic",
                  "arch/x86/crypto/crc32c-intel", "fs/ext4/ext4",
                  # for the guest: its network card and containerd's overlayfs snapshotter
                  "net/core/failover", "drivers/net/net_failover", "drivers/net/virtio_net",
                  "fs/overlayfs/overlay")
CRI_PORT, SHELL_PORT = 10010, 10022
READY = "VMNODE-READY"
ROOT_SIZE = "2G"

INIT = """#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc; /bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
for m in {modules}; do
  /bin/busybox insmod /lib/modules/$m.ko || echo "initramfs: insmod $m failed"
done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 500 ]; do /bin/busybox usleep 10000; i=$((i+1)); done
/bin/busybox mount -t ext4 -o rw /dev/vda /newroot || {{
  echo "initramfs: no root"; /bin/busybox poweroff -f; }}
/bin/busybox umount /proc /sys; /bin/busybox mount --move /dev /newroot/dev
exec /bin/busybox switch_root /newroot /sbin/init
"""

UNITS = {
    "vmnode-net.service": """[Unit]
Description=calico-conformance: the node's static address and default route (qemu user net)
Before=network.target containerd.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/busybox ip link set lo up
ExecStart=/bin/busybox ip link set eth0 up
ExecStart=/bin/busybox ip addr add 10.0.2.15/24 dev eth0
ExecStart=/bin/busybox ip route add default via 10.0.2.2
[Install]
WantedBy=multi-user.target
""",
    "vmnode-cri.socket": f"""[Unit]
Description=calico-conformance: CRI for the host, on a forwarded port
[Socket]
ListenStream={CRI_PORT}
[Install]
WantedBy=sockets.target
""",
    "vmnode-cri.service": """[Unit]
Description=calico-conformance: CRI proxy to containerd's socket
[Service]
ExecStart=/lib/systemd/systemd-socket-proxyd /run/containerd/containerd.sock
""",
    "vmnode-sh.socket": f"""[Unit]
Description=calico-conformance: a shell for the host, one script per connection
[Socket]
ListenStream={SHELL_PORT}
Accept=yes
[Install]
WantedBy=sockets.target
""",
    "vmnode-sh@.service": """[Unit]
Description=calico-conformance: one host command
[Service]
ExecStart=/bin/bash
StandardInput=socket
StandardOutput=socket
StandardError=socket
""",
    "vmnode-ready.service": f"""[Unit]
Description=calico-conformance: tell the host the node is up
After=containerd.service vmnode-net.service vmnode-cri.socket vmnode-sh.socket
Wants=containerd.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "{READY} uptime=$(cut -d" " -f1 /proc/uptime) \\
cgroupfs=$(stat -fc %%T /sys/fs/cgroup)" > /dev/ttyS0'
[Install]
WantedBy=multi-user.target
""",
}
# Nothing to load (the initramfs did), nobody to log in, no maintenance during a cell.
MASK = ("systemd-modules-load.service", "apt-daily.timer", "apt-daily-upgrade.timer",
        "e2scrub_all.timer", "fstrim.timer", "systemd-timesyncd.service", "getty@tty1.service",
        "serial-getty@ttyS0.service")


@dataclass(frozen=True)
class VmImage:
    """A built VM node image: kernel, initramfs and the primed root filesystem."""

    dir: Path
    kernel: Path
    initrd: Path
    root: Path

    @property
    def primed(self) -> bool:
        return (self.dir / "primed").is_file()


def kernel_package() -> str:
    """The kernel package ``linux-image-amd64`` depends on now (e.g. linux-image-6.1.0-57-amd64)."""
    out = tools.run(["apt-cache", "depends", KERNEL_META], timeout=60).stdout
    for line in out.splitlines():
        word = line.split(":", 1)[-1].strip()
        if line.strip().startswith("Depends:") and word.startswith("linux-image-"):
            return word
    raise ProbeError(f"apt-cache depends {KERNEL_META} names no kernel (run apt-get update)")


def image_dir(cache: Path, tag: str, kernel: str) -> VmImage:
    """Where the VM image of a node image (its tag carries the recipe's digest) lives."""
    key = hashlib.sha256(f"{tag}\0{VM_LAYOUT}\0{kernel}".encode()).hexdigest()[:12]
    d = cache / "vm" / f"{tag.rsplit(':', 1)[-1]}-{key}"
    return VmImage(d, d / "vmlinux", d / "initrd.gz", d / "root.img")


def _kernel(work: Path, package: str) -> tuple[Path, str]:
    """Download and unpack the kernel package; (its unpacked tree, the module version)."""
    tools.run(["apt-get", "download", package], timeout=600, cwd=work)
    deb = next(work.glob(f"{package}_*.deb"))
    tree = work / "kernel"
    tools.run(["dpkg-deb", "-x", str(deb), str(tree)], timeout=600)
    (version,) = [p.name for p in (tree / "lib/modules").iterdir()]
    return tree, version


def vmlinux(vmlinuz: Path, dest: Path) -> Path:
    """The uncompressed ELF inside a bzImage (qemu's PVH entry boots it without the
    decompressor, measurably faster under emulation); the bzImage itself if not xz."""
    data = vmlinuz.read_bytes()
    at = data.find(b"\xfd7zXZ\x00")
    if at < 0:
        shutil.copyfile(vmlinuz, dest)
        return dest
    dest.write_bytes(lzma.LZMADecompressor().decompress(data[at:]))
    return dest


def _initrd(tree: Path, version: str, dest: Path, work: Path) -> None:
    root = work / "initramfs"
    for sub in ("bin", "dev", "proc", "sys", "newroot", "lib/modules"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    busybox = shutil.which("busybox")
    if busybox is None:
        raise ProbeError("busybox not found (apt-get install busybox-static)")
    shutil.copy2(busybox, root / "bin/busybox")
    names = []
    for mod in INITRD_MODULES:
        name = Path(mod).name
        shutil.copy2(tree / "lib/modules" / version / "kernel" / f"{mod}.ko",
                     root / "lib/modules" / f"{name}.ko")
        names.append(name)
    init = root / "init"
    init.write_text(INIT.format(modules=" ".join(names)))
    init.chmod(0o755)
    tools.run(["sh", "-c", 'cd "$1" && find . | busybox cpio -o -H newc | gzip -1 > "$2"',
               "sh", str(root), str(dest)], timeout=300)


def _rootfs(tag: str, docker: str, root: Path) -> None:
    """The recipe's node image as a guest: its files and our units."""
    cid = tools.run([docker, "create", tag, "/bin/true"], timeout=120).stdout.strip()
    try:
        tools.run(["sh", "-c", '"$1" export "$2" | tar -x -C "$3"', "sh", docker, cid,
                   str(root)], timeout=600)
    finally:
        tools.run([docker, "rm", cid], check=False, timeout=120)
    etc = root / "etc"
    (etc / "hostname").write_text("ccvmnode\n")
    units = etc / "systemd/system"
    for name, text in UNITS.items():
        (units / name).write_text(text)
    for name, target in (("vmnode-net.service", "multi-user.target"),
                         ("vmnode-ready.service", "multi-user.target"),
                         ("vmnode-cri.socket", "sockets.target"),
                         ("vmnode-sh.socket", "sockets.target")):
        link = units / f"{target}.wants" / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.unlink(missing_ok=True)
        link.symlink_to(f"/etc/systemd/system/{name}")
    for name in MASK:
        masked = units / name
        masked.unlink(missing_ok=True)
        masked.symlink_to("/dev/null")


def build(recipe: Recipe, tag: str, cache: Path, docker: str = "docker") -> VmImage:
    """The recipe's VM image, built now (unprimed) or found in the cache."""
    package = kernel_package()
    image = image_dir(cache, tag, package)
    if image.root.is_file() and image.kernel.is_file() and image.initrd.is_file():
        return image
    image.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"ccvm-build-{recipe.name}-", dir=image.dir.parent))
    try:
        tree, version = _kernel(work, package)
        vmlinux(next((tree / "boot").glob("vmlinuz-*")), work / "vmlinux")
        _initrd(tree, version, work / "initrd.gz", work)
        root = work / "rootfs"
        root.mkdir()
        _rootfs(tag, docker, root)
        tools.run(["mkfs.ext4", "-q", "-F", "-L", "vmroot", "-d", str(root),
                   str(work / "root.img"), ROOT_SIZE], timeout=1200)
        (work / "kernel.txt").write_text(f"{package} {version}\n")
        for name in ("vmlinux", "initrd.gz", "kernel.txt", "root.img"):  # root.img last
            (work / name).replace(image.dir / name)
        return image
    finally:
        shutil.rmtree(work, ignore_errors=True)


def prune(cache: Path, keep: set[Path]) -> list[Path]:
    """Remove VM images no current recipe (or kernel) produces."""
    gone = []
    for d in sorted((cache / "vm").glob("*")) if (cache / "vm").is_dir() else []:
        if d.is_dir() and d not in keep:
            shutil.rmtree(d, ignore_errors=True)
            gone.append(d)
    return gone
