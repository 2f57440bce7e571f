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

import io
import json
import tarfile
from pathlib import Path
from typing import Any

from ..errors import ProbeError
from ..probe.image import MT_CONFIG, MT_INDEX, MT_LAYER, MT_MANIFEST, Blob, oci_archive
from ..versions import goarch

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


def _ti(name: str, kind: bytes, *, size: int = 0, mode: int = 0o755,
        link: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name.lstrip("/"))
    ti.type, ti.size, ti.mode, ti.linkname = kind, size, mode, link
    ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "", ""
    return ti


def _tar(files: dict[str, bytes], links: dict[str, str], dirs: tuple[str, ...]) -> bytes:
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = []
    parents = {str(Path(p).parent).lstrip("/") for p in [*files, *links]} | set(dirs)
    all_dirs: set[str] = set()
    for d in parents:
        parts = Path(d).parts
        all_dirs |= {"/".join(parts[:i]) for i in range(1, len(parts) + 1)}
    for d in sorted(all_dirs - {""}):
        entries.append((_ti(d, tarfile.DIRTYPE, mode=0o1777 if d == "tmp" else 0o755), None))
    for name in sorted(files):
        entries.append((_ti(name, tarfile.REGTYPE, size=len(files[name])), files[name]))
    for name in sorted(links):
        entries.append((_ti(name, tarfile.SYMTYPE, mode=0o777, link=links[name]), None))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def image_archive(layer_data: bytes, cmd: tuple[str, ...], ref: str) -> bytes:
    """A one-layer OCI image-layout tarball that ``ctr images import`` accepts as ``ref``."""
    layer = Blob(MT_LAYER, layer_data)
    config = {"architecture": goarch(), "os": "linux",
              "config": {"Cmd": list(cmd), "Env": ["PATH=/usr/bin:/bin"], "WorkingDir": "/"},
              "rootfs": {"type": "layers", "diff_ids": [layer.digest]}}
    cfg = Blob(MT_CONFIG, _canonical(config))
    manifest = Blob(MT_MANIFEST, _canonical({"schemaVersion": 2, "mediaType": MT_MANIFEST,
                                             "config": cfg.descriptor(),
                                             "layers": [layer.descriptor()]}))
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [manifest.descriptor(
        platform={"architecture": goarch(), "os": "linux"},
        annotations={"io.containerd.image.name": ref,
                     "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1]})]}
    files = {"oci-layout": _canonical({"imageLayoutVersion": "1.0.0"}),
             "index.json": _canonical(index)}
    files |= {f"blobs/sha256/{b.digest.split(':', 1)[1]}": b.data
              for b in (layer, cfg, manifest)}
    return _tar(files, {}, ())


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
    return _tar(files, links, ("tmp", "proc", "sys", "dev", "etc", "run", "var"))


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
