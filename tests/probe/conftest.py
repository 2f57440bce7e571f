"""Fixtures for the probe tier's tests; real-containerd tests skip with the host's reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from calico_conformance.catalog import Catalog
from calico_conformance.cells import KindRelease
from calico_conformance.probe import ProbeSettings, probe_available

KIND_VERSION = "v0.24.0"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(Path(__file__).resolve().parents[2] / "clusters")


@pytest.fixture(scope="session")
def kind_release(catalog: Catalog) -> KindRelease:
    return catalog.kind[KIND_VERSION]


@pytest.fixture
def probe_settings(tmp_path: Path) -> ProbeSettings:
    """Settings for a real probe; skips (with the reason) where none can run."""
    reason = probe_available()
    if reason:
        pytest.skip(f"real containerd probe unavailable: {reason}")
    # A short window: these tests check the classes, not stamina.
    return ProbeSettings(workdir=tmp_path / "probe", window_s=2.0)
