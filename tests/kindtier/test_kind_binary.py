"""Where the kind binary comes from: --kind-bin, PATH, or the pinned, verified download."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from calico_conformance.catalog import Catalog, KindRelease
from calico_conformance.errors import InputError, ToolMissing
from calico_conformance.kindtier import resolve_kind

BINARY = b"#!/bin/sh\necho kind v0.24.0 go1.22.6 linux/amd64\n"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A loopback HTTP server standing in for the release download."""
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "kind-linux-amd64").write_bytes(BINARY)

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):  # type: ignore[no-untyped-def]
            super().__init__(*a, directory=str(tmp_path / "www"), **kw)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/kind-linux-amd64"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def release(clusters_dir: Path, served: str) -> KindRelease:
    real = Catalog(clusters_dir).kind["v0.24.0"]
    return replace(real, download_url=served, sha256=hashlib.sha256(BINARY).hexdigest())


@pytest.fixture
def no_kind_on_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_an_explicit_kind_bin_wins_and_must_be_executable(tmp_path: Path,
                                                          release: KindRelease) -> None:
    exe = tmp_path / "my-kind"
    exe.write_bytes(BINARY)
    exe.chmod(0o755)
    assert resolve_kind(str(exe), release, tmp_path / "cache") == str(exe)
    exe.chmod(0o644)
    with pytest.raises(InputError, match="--kind-bin"):
        resolve_kind(str(exe), release, tmp_path / "cache")


@pytest.mark.usefixtures("no_kind_on_path")
def test_without_kind_on_path_the_pinned_release_is_downloaded_verified_and_cached(
        tmp_path: Path, release: KindRelease) -> None:
    cache = tmp_path / "cache"
    path = Path(resolve_kind(None, release, cache))
    assert path.read_bytes() == BINARY and path.stat().st_mode & 0o111
    assert path.is_relative_to(cache)
    # Cached: a second call does not need the server.
    offline = replace(release, download_url="http://127.0.0.1:9/gone")
    assert resolve_kind(None, offline, cache) == str(path)


@pytest.mark.usefixtures("no_kind_on_path")
def test_a_download_that_does_not_match_its_pin_is_refused_and_not_cached(
        tmp_path: Path, release: KindRelease) -> None:
    bad = replace(release, sha256="0" * 64)
    with pytest.raises(ToolMissing, match="does not match the pin"):
        resolve_kind(None, bad, tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("kind"))


@pytest.mark.usefixtures("no_kind_on_path")
def test_a_release_without_a_pin_is_never_downloaded(tmp_path: Path,
                                                     release: KindRelease) -> None:
    with pytest.raises(ToolMissing, match="no sha256 pin"):
        resolve_kind(None, replace(release, sha256=""), tmp_path / "cache")
