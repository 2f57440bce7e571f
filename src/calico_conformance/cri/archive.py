"""Local OCI images, so no tier needs a registry: one-layer image-layout tarballs that
``ctr images import`` accepts, written byte-for-byte deterministically (fixed mtimes,
owners, ordering) so the same inputs always give the same digests.

The probe's image is the host's static busybox (its default command a long ``sleep``,
all a pause container does from containerd's point of view); the node tier's sandbox
and runit workload images are built from the same pieces (:mod:`..node.workload`).
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProbeError
from ..versions import goarch

# ``localhost/`` keeps the name fully qualified under CRI's reference normalisation,
# so nobody mistakes it for something a registry could serve.
IMAGE_REF = "localhost/calico-conformance/probe-busybox:local"
SLEEP_FOREVER = ("/bin/sleep", "2147483647")
APPLETS = ("sh", "sleep", "true", "cat", "ls")
EMPTY_DIRS = ("dev", "proc", "sys", "tmp", "etc", "var", "run", "root")

MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data),
                **extra}


def _ti(name: str, kind: bytes, *, size: int = 0, mode: int = 0o755,
        link: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name.lstrip("/"))
    ti.type, ti.size, ti.mode, ti.linkname = kind, size, mode, link
    ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "", ""
    return ti


def tree_tar(files: dict[str, bytes], links: dict[str, str] | None = None,
             dirs: tuple[str, ...] = ()) -> bytes:
    """A tar of ``files`` and symlinks ``links``, every parent directory included, sorted."""
    links = links or {}
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


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def layer_tar(busybox: bytes) -> bytes:
    """The probe's root filesystem: busybox, a few applets, and empty mount points."""
    return tree_tar({"bin/busybox": busybox}, {f"bin/{a}": "busybox" for a in APPLETS},
                    EMPTY_DIRS)


def image_archive(layer_data: bytes, cmd: tuple[str, ...], ref: str, *,
                  path: str = "/usr/bin:/bin", arch: str | None = None) -> bytes:
    """A one-layer OCI image-layout tarball named ``ref`` (an untagged ref is ``latest``)."""
    layer = Blob(MT_LAYER, layer_data)
    config = {"architecture": goarch(arch), "os": "linux",
              "config": {"Cmd": list(cmd), "Env": [f"PATH={path}"], "WorkingDir": "/"},
              "rootfs": {"type": "layers", "diff_ids": [layer.digest]}}
    cfg = Blob(MT_CONFIG, canonical(config))
    manifest = Blob(MT_MANIFEST, canonical({"schemaVersion": 2, "mediaType": MT_MANIFEST,
                                            "config": cfg.descriptor(),
                                            "layers": [layer.descriptor()]}))
    tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else "latest"
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [manifest.descriptor(
        platform={"architecture": goarch(arch), "os": "linux"},
        annotations={"io.containerd.image.name": ref,
                     "org.opencontainers.image.ref.name": tag})]}
    files = {"oci-layout": canonical({"imageLayoutVersion": "1.0.0"}),
             "index.json": canonical(index)}
    files |= {f"blobs/sha256/{b.digest.split(':', 1)[1]}": b.data
              for b in (layer, cfg, manifest)}
    return tree_tar(files)


def oci_archive(busybox: bytes, *, ref: str = IMAGE_REF, arch: str | None = None) -> bytes:
    """The busybox image (the probe's pod and container, the node's "pause")."""
    return image_archive(layer_tar(busybox), SLEEP_FOREVER, ref, path="/bin", arch=arch)


def write_archive(dest: Path, busybox_path: Path, *, ref: str = IMAGE_REF) -> Path:
    """Build the archive from a static busybox on disk; refuse a dynamic one early."""
    try:
        data = busybox_path.read_bytes()
    except OSError as exc:
        raise ProbeError(f"cannot read busybox at {busybox_path}: {exc.strerror} "
                         "(install Debian's busybox-static)") from exc
    if b"/lib64/ld-linux" in data[:4096] or b"/lib/ld-linux" in data[:4096]:
        raise ProbeError(f"{busybox_path} is dynamically linked; the image needs "
                         "busybox-static")
    dest.write_bytes(oci_archive(data, ref=ref))
    return dest
