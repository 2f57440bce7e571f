"""Repro scenarios as data: clusters/repros/<id>.toml, checked where it is read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from calico_conformance.catalog import Catalog
from calico_conformance.errors import InputError
from calico_conformance.repro import available, cells, load_repro


def test_calico_9524_names_the_reports_hypotheses_and_a_control(clusters_dir: Path) -> None:
    repro = load_repro(clusters_dir, "calico-9524")
    assert repro.link == "https://github.com/projectcalico/calico/issues/9524"
    assert repro.calico == ("v3.26.4", "v3.28.2") and repro.status == "open"
    assert (repro.symptom.verdict, "killed-exit-0" in repro.symptom.signatures) == (
        "restarts", True)
    variants = {c.variant for c in repro.candidates}
    assert {"systemd-cgroup-off", "report-9524", "runsc-default-no-shim",
            "sandbox-image-pause-3.6", "baseline"} == variants
    assert [c.name for c in repro.candidates if c.control] == ["kind-defaults"]


def test_its_cells_are_every_candidate_on_every_reported_calico_version(
        clusters_dir: Path) -> None:
    catalog = Catalog(clusters_dir)
    repro = load_repro(clusters_dir, "calico-9524")
    made = cells(repro, catalog, catalog.profile("smoke"))
    assert len(made) == 10
    assert "v3.26.4-report-9524-k8s1.28" in {c.id for c in made}


def test_an_unknown_repro_names_the_known_ones(clusters_dir: Path) -> None:
    with pytest.raises(InputError, match="known: calico-9524"):
        load_repro(clusters_dir, "calico-0000")
    assert available(clusters_dir) == ["calico-9524"]


@pytest.mark.parametrize(("edit", "message"), [
    ('status = "open"', 'status = "closed"'),
    ('variant = "baseline"', 'variant = "no-such-variant"'),
    ('verdict = "restarts"', 'verdict = "exploded"'),
])
def test_a_broken_repro_file_is_one_line_naming_it(clusters_dir: Path, tmp_path: Path,
                                                    edit: str, message: str) -> None:
    root = tmp_path / "clusters"
    shutil.copytree(clusters_dir, root)
    path = root / "repros" / "calico-9524.toml"
    path.write_text(path.read_text().replace(edit, message))
    catalog = Catalog(root)
    with pytest.raises(InputError) as err:
        repro = load_repro(root, "calico-9524")
        cells(repro, catalog, catalog.profile("smoke"))
    assert "calico-9524.toml" in err.value.one_line()
