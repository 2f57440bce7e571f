"""The stand-in image is a valid, reproducible OCI layout built from busybox alone."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from calico_conformance.cri import archive as image
from calico_conformance.errors import ProbeError

FAKE_BUSYBOX = b"\x7fELF static busybox stand-in" + bytes(300)


def _members(archive: bytes) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tf:
        for m in tf.getmembers():
            f = tf.extractfile(m)
            out[m.name] = f.read() if f else None
    return out


def _blob(files: dict[str, bytes | None], digest: str) -> bytes:
    data = files[f"blobs/sha256/{digest.split(':', 1)[1]}"]
    assert data is not None
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


def test_the_archive_is_a_layout_whose_index_names_the_image_and_whose_digests_hold() -> None:
    files = _members(image.oci_archive(FAKE_BUSYBOX, arch="x86_64"))
    assert json.loads(files["oci-layout"] or b"") == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"] or b"")
    (desc,) = index["manifests"]
    assert desc["annotations"]["io.containerd.image.name"] == image.IMAGE_REF
    assert desc["platform"] == {"architecture": "amd64", "os": "linux"}
    manifest = json.loads(_blob(files, desc["digest"]))
    config = json.loads(_blob(files, manifest["config"]["digest"]))
    layer = _blob(files, manifest["layers"][0]["digest"])
    # An uncompressed layer: its diff_id is its own digest.
    assert config["rootfs"]["diff_ids"] == [manifest["layers"][0]["digest"]]
    assert config["config"]["Cmd"] == list(image.SLEEP_FOREVER)
    assert len(layer) == manifest["layers"][0]["size"]


def test_the_layer_holds_busybox_its_applets_and_the_mount_points() -> None:
    layer = image.layer_tar(FAKE_BUSYBOX)
    with tarfile.open(fileobj=io.BytesIO(layer)) as tf:
        members = {m.name: m for m in tf.getmembers()}
        bb = tf.extractfile(members["bin/busybox"])
        assert bb is not None and bb.read() == FAKE_BUSYBOX
    assert members["bin/busybox"].mode & 0o111
    assert members["bin/sleep"].issym() and members["bin/sleep"].linkname == "busybox"
    assert members["bin/sh"].linkname == "busybox"
    assert {"dev", "proc", "sys", "tmp"} <= {n for n, m in members.items() if m.isdir()}


def test_the_same_busybox_always_gives_the_same_bytes_and_another_gives_others() -> None:
    a = image.oci_archive(FAKE_BUSYBOX, arch="x86_64")
    assert a == image.oci_archive(FAKE_BUSYBOX, arch="x86_64")
    assert a != image.oci_archive(FAKE_BUSYBOX + b"!", arch="x86_64")


def test_a_dynamically_linked_busybox_is_refused_with_the_package_to_install(
        tmp_path: Path) -> None:
    dyn = tmp_path / "busybox"
    dyn.write_bytes(b"\x7fELF....../lib64/ld-linux-x86-64.so.2" + bytes(64))
    with pytest.raises(ProbeError, match="busybox-static"):
        image.write_archive(tmp_path / "img.tar", dyn)
