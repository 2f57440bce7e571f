"""The two local images a node imports: a busybox sandbox ("pause") and a runit workload.

calico/node runs runit's ``runsvdir`` as PID 1 (calico's start_runit), and
``runsvdir`` exits 0 on SIGTERM (runsvdir(8)), which containerd reports as
``Completed``. Debian's busybox has no runsvdir applet, so the workload carries
Debian's ``runit`` binaries with the libraries they link, taken from the node's own
root filesystem at build time, plus one service that keeps running and a
``/bin/calico-node`` that answers ``-felix-live``/``-felix-ready`` from that service's
state, the way calico-node's health check reports felix. Archives are deterministic.
"""

from __future__ import annotations

from pathlib import Path

from ..cri.archive import image_archive, oci_archive, tree_tar
from ..errors import ProbeError

SANDBOX_REF = "localhost/calico-conformance/pause:local"
WORKLOAD_REF = "localhost/calico-conformance/runit-node:local"
RUNIT_BINARIES = ("/usr/bin/runsvdir", "/usr/bin/runsv", "/usr/bin/sv")
WORKLOAD_CMD = ("/usr/bin/runsvdir", "-P", "/etc/service")  # calico/node's start_runit
SERVICE = "felix"
# A file the workload's health check treats as "felix is not live": tests create it through
# ExecSync to force liveness failures (the kubelet's prober then kills the container).
UNHEALTHY_FLAG = "/tmp/calico-conformance-unhealthy"
HEALTH_SCRIPT = f"""#!/bin/sh
# Stand-in for calico-node's -felix-live/-felix-ready/-bird-live checks.
[ -e {UNHEALTHY_FLAG} ] && {{ echo "felix is not live (forced)"; exit 1; }}
case "$(/usr/bin/sv status /etc/service/{SERVICE})" in
  run:*) exit 0 ;;
esac
echo "felix service is not running"
exit 1
"""
SERVICE_RUN = "#!/bin/sh\nexec /bin/sleep 2147483647\n"
APPLETS = ("sh", "sleep", "cat", "grep", "true", "echo", "ls", "touch", "rm", "ps")


def workload_layer(rootfs: Path, real: dict[str, str]) -> bytes:
    """runit's binaries and their libraries from ``rootfs``, busybox, one service, the check.

    ``real`` maps each path the image needs (binaries, ``ldd``'s libraries, busybox) to
    its symlink-free path inside ``rootfs`` (resolved in the chroot: an absolute link
    such as the loader's must not resolve against the build host)."""
    files: dict[str, bytes] = {}
    for path, target in real.items():
        src = rootfs / target.lstrip("/")
        try:
            files[path] = src.read_bytes()
        except OSError as exc:
            raise ProbeError(f"workload image: cannot read {src}: {exc.strerror}") from exc
    files[f"/etc/service/{SERVICE}/run"] = SERVICE_RUN.encode()
    files["/bin/calico-node"] = HEALTH_SCRIPT.encode()
    links = {f"/bin/{a}": "busybox" for a in APPLETS}
    return tree_tar(files, links, ("tmp", "proc", "sys", "dev", "etc", "run", "var"))


def ldd_paths(ldd_output: str) -> list[str]:
    """Library paths from ``ldd`` output (``libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6``
    and the loader's bare ``/lib64/ld-linux-x86-64.so.2``)."""
    out: list[str] = []
    for line in ldd_output.splitlines():
        words = line.split()
        path = words[2] if "=>" in words and len(words) > 2 else (words[0] if words else "")
        if path.startswith("/") and path not in out:
            out.append(path)
    return out


def write_images(rootfs: Path, dest: Path, real: dict[str, str]) -> list[Path]:
    """Write both archives into ``dest`` (inside the node's root filesystem)."""
    dest.mkdir(parents=True, exist_ok=True)
    busybox = (rootfs / real["/bin/busybox"].lstrip("/")).read_bytes()
    sandbox = dest / "sandbox.tar"
    sandbox.write_bytes(oci_archive(busybox, ref=SANDBOX_REF))
    workload = dest / "workload.tar"
    workload.write_bytes(image_archive(workload_layer(rootfs, real), WORKLOAD_CMD, WORKLOAD_REF))
    return [sandbox, workload]
