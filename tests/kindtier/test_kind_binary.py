"""Where the kind binary comes from: --kind-bin, PATH, or the pinned, verified download."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from calico_conformance.catalog import Catalog
from calico_conformance.cells import KindRelease
from calico_conformance.errors import InputError, ToolMissing
from calico_conformance.kind import host_platform, resolve_kind

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
    pin = (served, hashlib.sha256(BINARY).hexdigest())
    return replace(real, downloads={host_platform(): pin})


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
    _url, pin = release.downloads[host_platform()]
    offline = replace(release, downloads={host_platform(): ("http://127.0.0.1:9/gone", pin)})
    assert resolve_kind(None, offline, cache) == str(path)


@pytest.mark.usefixtures("no_kind_on_path")
def test_a_download_that_does_not_match_its_pin_is_refused_and_not_cached(
        tmp_path: Path, release: KindRelease) -> None:
    url, _pin = release.downloads[host_platform()]
    bad = replace(release, downloads={host_platform(): (url, "0" * 64)})
    with pytest.raises(ToolMissing, match="does not match the pin"):
        resolve_kind(None, bad, tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("kind"))


@pytest.mark.usefixtures("no_kind_on_path")
def test_a_release_without_a_pin_for_this_platform_is_never_downloaded(
        tmp_path: Path, release: KindRelease) -> None:
    with pytest.raises(ToolMissing, match=f"pins no {host_platform()} download"):
        resolve_kind(None, replace(release, downloads={}), tmp_path / "cache")


def test_kind_on_path_of_another_release_is_not_used_for_this_release(
        tmp_path: Path, release: KindRelease, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    other = bin_dir / "kind"
    other.write_text("#!/bin/sh\necho kind v0.20.0 go1.20 linux/amd64\n")
    other.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    path = resolve_kind(None, release, tmp_path / "cache")
    assert path != str(other) and Path(path).read_bytes() == BINARY
    same = replace(release, version="v0.20.0")
    assert resolve_kind(None, same, tmp_path / "cache") == str(other)
