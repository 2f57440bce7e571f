"""Which kind binary runs a release's cells, and whether live cells can run here at all.

A node image digest is only valid with the kind release that built it, so each kind
release of the matrix resolves to its own binary: ``--kind-bin`` (the user's choice,
for every release), else kind on PATH when it *is* that release, else the pinned
download from ``clusters/kind/releases.toml``, verified against its sha256.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from pathlib import Path

from .. import tools
from ..cells import KindRelease
from ..download import fetch_pinned
from ..errors import ConformanceError, DownloadFailed, InputError, PinMismatch, ToolMissing
from ..versions import goarch, parse_version

KIND_DOWNLOAD_TIMEOUT_S = 300.0


def host_platform() -> str:
    """``<os>-<arch>`` as kind names its release binaries (linux-amd64, darwin-arm64)."""
    return f"{platform.system().lower()}-{goarch()}"


def _version_text(version: tuple[int, int, int]) -> str:
    return "v" + ".".join(map(str, version))


def resolve_kind(explicit: str | None, release: KindRelease, cache_dir: Path) -> str:
    """The kind binary for cells of ``release`` (see the module docstring)."""
    if explicit:
        path = tools.which("kind", explicit)
        if path is None:
            raise InputError(f"--kind-bin {explicit}: not an executable file")
        return path
    on_path = tools.which("kind")
    found = "kind is not on PATH"
    if on_path:
        try:
            version = tools.kind_version(on_path)
        except ToolMissing as exc:  # too old or broken: not this release either
            found = str(exc)
        else:
            if version == parse_version(release.version):
                return on_path
            found = f"kind on PATH is {_version_text(version)}"
    plat = host_platform()
    if plat not in release.downloads:
        raise ToolMissing(f"{found}, cells of kind {release.version} need that release, and "
                          f"clusters/kind/releases.toml pins no {plat} download of it; "
                          f"install kind {release.version} or pass --kind-bin")
    url, pin = release.downloads[plat]
    target = cache_dir / "kind" / release.version / plat / "kind"
    try:
        fetch_pinned(url, pin, target, timeout_s=KIND_DOWNLOAD_TIMEOUT_S, mode=0o755)
    except PinMismatch as exc:
        raise ToolMissing(f"{exc}; refusing to run it") from exc
    except DownloadFailed as exc:
        raise ToolMissing(f"{found} and {exc}; install kind {release.version} or pass "
                          f"--kind-bin") from exc
    return str(target)


@dataclass
class KindTools:
    """What preflight found: a binary and its reported version per kind release."""

    docker_version: str = ""
    bins: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def preflight(releases: list[KindRelease], explicit: str | None, cache_dir: Path,
              docker_version: str = "") -> KindTools:
    """Docker (unless already found) and a kind binary per release, or one clear line
    saying what is missing."""
    found = KindTools(docker_version=docker_version)
    try:
        found.docker_version = found.docker_version or tools.docker_info()
        for release in releases:
            found.bins[release.version] = resolve_kind(explicit, release, cache_dir)
            reported = _version_text(tools.kind_version(found.bins[release.version]))
            found.versions[release.version] = reported
            if reported != release.version:
                found.notes.append(f"note: cells of kind {release.version} run with "
                                   f"{found.bins[release.version]} ({reported}); node image "
                                   f"digests are only valid with {release.version}")
    except InputError:
        raise
    except ConformanceError as exc:
        said = str(exc).rstrip(". ")
        said += " " if said.endswith(("?", "!")) else ". "
        wanted = f" ({', '.join(r.version for r in releases)})" if releases else ""
        raise InputError(
            f"{said}Live cells need Docker >= 20.10 and the kind release each point pins"
            f"{wanted}: kind on PATH when it is that release, else its sha256-pinned "
            f"download, or --kind-bin PATH for every release. Without them: `pytest --plan` "
            f"writes the plan, `pytest --tier probe` runs the containerd probe, `pytest "
            f"tests` runs the self-tests.") from exc
    return found
