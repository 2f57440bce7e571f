"""A tiny local OCI image from the host's static busybox, so the probe needs no registry.

One image serves as both the sandbox ("pause") image and the workload: the image's
default command is a long ``sleep``, which is all a pause container does from
containerd's point of view. The archive is written byte-for-byte deterministically
(fixed mtimes, owners, ordering) so the same busybox always yields the same digest.
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


def _tarinfo(name: str, kind: bytes, *, size: int = 0, mode: int = 0o755,
             link: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.mode, ti.linkname = kind, size, mode, link
    ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, 0, "", ""
    return ti


def _tar(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def layer_tar(busybox: bytes) -> bytes:
    """The root filesystem: busybox, a few applet symlinks, and empty mount points."""
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = [
        (_tarinfo("bin", tarfile.DIRTYPE), None),
        (_tarinfo("bin/busybox", tarfile.REGTYPE, size=len(busybox)), busybox),
    ]
    entries += [(_tarinfo(f"bin/{a}", tarfile.SYMTYPE, mode=0o777, link="busybox"), None)
                for a in APPLETS]
    entries += [(_tarinfo(d, tarfile.DIRTYPE, mode=0o1777 if d == "tmp" else 0o755), None)
                for d in EMPTY_DIRS]
    return _tar(entries)


def image_blobs(busybox: bytes, *, ref: str = IMAGE_REF,
                arch: str | None = None) -> tuple[Blob, Blob, Blob]:
    """(layer, config, manifest) of the stand-in image."""
    layer = Blob(MT_LAYER, layer_tar(busybox))
    config = {
        "architecture": goarch(arch), "os": "linux",
        "config": {"Cmd": list(SLEEP_FOREVER), "Env": ["PATH=/bin"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        "history": [{"created_by": "calico-conformance probe: busybox-static", "comment": ref}],
    }
    cfg = Blob(MT_CONFIG, _canonical(config))
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                "config": cfg.descriptor(), "layers": [layer.descriptor()]}
    return layer, cfg, Blob(MT_MANIFEST, _canonical(manifest))


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def oci_archive(busybox: bytes, *, ref: str = IMAGE_REF, arch: str | None = None) -> bytes:
    """An OCI image-layout tarball that ``ctr images import`` accepts, named ``ref``."""
    layer, cfg, manifest = image_blobs(busybox, ref=ref, arch=arch)
    tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else "latest"
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [manifest.descriptor(
        platform={"architecture": goarch(arch), "os": "linux"},
        annotations={"io.containerd.image.name": ref, "org.opencontainers.image.ref.name": tag},
    )]}
    files = [("oci-layout", _canonical({"imageLayoutVersion": "1.0.0"})),
             ("index.json", _canonical(index))]
    files += [(f"blobs/sha256/{b.digest.split(':', 1)[1]}", b.data)
              for b in (layer, cfg, manifest)]
    entries: list[tuple[tarfile.TarInfo, bytes | None]] = [
        (_tarinfo(d, tarfile.DIRTYPE), None) for d in ("blobs", "blobs/sha256")]
    entries += [(_tarinfo(n, tarfile.REGTYPE, size=len(d), mode=0o644), d) for n, d in files]
    return _tar(entries)


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
