"""Pinned downloads: fetch once, verify the sha256 pin, cache atomically.

Used for the two things the suite fetches from the internet, kind binaries and
Calico manifests; both are refused when their digest differs from the pin in
``clusters/``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .errors import DownloadFailed, PinMismatch


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verify(data: bytes, pin: str, source: str) -> bytes:
    got = sha256(data)
    if got != pin:
        raise PinMismatch(f"{source}: sha256 {got} does not match the pin {pin}")
    return data


def fetch_pinned(url: str, pin: str, cache_path: Path, *, timeout_s: float,
                 mode: int | None = None) -> bytes:
    """The pinned bytes: from the cache when it verifies, else downloaded, verified, cached."""
    if cache_path.is_file():
        data = cache_path.read_bytes()
        if sha256(data) == pin:
            return data
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            data = bytes(resp.read())
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise DownloadFailed(f"cannot download {url}: {exc}") from exc
    verify(data, pin, url)
    try:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        # A unique temp name: two runs filling the same cache must not mix their bytes.
        fd, tmp = tempfile.mkstemp(dir=cache_path.parent, prefix=cache_path.name + ".")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, cache_path)
    except OSError:
        if mode is not None:
            raise DownloadFailed(f"cannot store {url} as {cache_path}") from None
        # A manifest is used from memory; an unwritable cache only costs the next download.
    return data
