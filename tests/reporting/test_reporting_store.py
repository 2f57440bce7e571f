"""The run store: atomic cell files, partial runs, finishing, and reports/latest."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
from reporting_sample import sample_cells, sample_meta, schema

from calico_conformance.errors import InputError
from calico_conformance.matrixfile import matrix_from_json, matrix_to_json
from calico_conformance.model import Outcome, Verdict, to_dict
from calico_conformance.reporting import store
from calico_conformance.reporting.store import RunStore, assemble, load_matrix, update_latest


def new_store(root: Path, run_id: str = "run-1") -> RunStore:
    cells = sample_cells()
    return RunStore.create(root, sample_meta(cells, run_id))


def test_creating_a_run_writes_run_json_with_the_planned_cells(tmp_path: Path) -> None:
    st = new_store(tmp_path)
    data = json.loads((tmp_path / "run-1" / "run.json").read_text())
    assert data["run_id"] == "run-1" and data["planned_ids"] == list(st.meta.planned_ids)
    assert (tmp_path / "run-1" / "cells").is_dir()


def test_creating_a_run_twice_with_one_id_is_refused(tmp_path: Path) -> None:
    new_store(tmp_path)
    with pytest.raises(InputError, match="already exists"):
        new_store(tmp_path)


def test_a_run_id_that_is_not_a_plain_name_is_refused(tmp_path: Path) -> None:
    meta = dataclasses.replace(sample_meta(sample_cells()), run_id="../escape")
    with pytest.raises(InputError, match="not usable"):
        RunStore.create(tmp_path, meta)


def test_repeats_get_their_own_cell_files(tmp_path: Path) -> None:
    st = new_store(tmp_path)
    paths = [st.write_cell(c) for c in sample_cells() if c.axes.variant == "report-9524"
             and c.axes.tier.value == "kind" and c.axes.calico == "v3.26.4"]
    assert [p.name for p in paths] == ["v3.26.4-report-9524-k8s1.28.json",
                                       "v3.26.4-report-9524-k8s1.28~r2.json",
                                       "v3.26.4-report-9524-k8s1.28~r3.json"]
    assert not [p for p in paths[0].parent.iterdir() if ".tmp-" in p.name]


def test_assembling_a_full_run_gives_back_every_cell_and_is_complete(tmp_path: Path) -> None:
    st, cells = new_store(tmp_path), sample_cells()
    for c in cells:
        st.write_cell(c)
    matrix = assemble(st.run_dir)
    assert matrix.complete
    assert sorted(to_dict(c)["cell_id"] + str(c.repeat) for c in matrix.cells) == \
        sorted(c.cell_id + str(c.repeat) for c in cells)


def test_missing_planned_cells_become_unknown_and_the_matrix_incomplete(tmp_path: Path) -> None:
    st, cells = new_store(tmp_path), sample_cells()
    st.write_cell(cells[0])
    matrix = assemble(st.run_dir)
    assert not matrix.complete
    missing = [c for c in matrix.cells if c.cell_id != cells[0].cell_id]
    assert missing and all(c.verdict is Verdict.UNKNOWN and c.outcome is Outcome.UNKNOWN
                           and store.NO_RESULT in c.evidence.notes for c in missing)
    assert [c.cell_id for c in matrix.cells] == list(st.meta.planned_ids)
    jsonschema.validate(json.loads(matrix_to_json(matrix)), schema())


def test_a_corrupt_cell_file_is_an_input_error_naming_the_file(tmp_path: Path) -> None:
    st = new_store(tmp_path)
    bad = st.run_dir / "cells" / "broken.json"
    bad.write_text("{not json")
    with pytest.raises(InputError) as err:
        assemble(st.run_dir)
    assert "broken.json" in err.value.one_line()


def test_finishing_writes_every_format_and_points_latest_at_the_run(tmp_path: Path) -> None:
    st = new_store(tmp_path)
    for c in sample_cells():
        st.write_cell(c)
    matrix = st.finish("2030-01-01T00:00:00+00:00")
    for name in ("matrix.json", "matrix.md", "matrix.html", "junit.xml"):
        assert (st.run_dir / name).stat().st_size > 0
    assert json.loads((st.run_dir / "run.json").read_text())["finished_at"].startswith("2030")
    assert matrix_from_json((st.run_dir / "matrix.json").read_text()) == matrix
    assert (tmp_path / "latest").resolve() == st.run_dir.resolve()
    second = new_store(tmp_path, "run-2")
    for c in sample_cells():
        second.write_cell(c)
    second.finish("2030-01-02T00:00:00+00:00")
    assert os.readlink(tmp_path / "latest") == "run-2"
    assert load_matrix(tmp_path / "latest").run.run_id == "run-2"


def test_an_interrupted_run_is_rendered_in_its_folder_but_latest_stays_on_the_last_complete(
        tmp_path: Path) -> None:
    done = new_store(tmp_path, "run-1")
    for c in sample_cells():
        done.write_cell(c)
    done.finish("2030-01-01T00:00:00+00:00")
    stopped = new_store(tmp_path, "run-2")
    stopped.write_cell(sample_cells()[0])
    matrix = stopped.finish("2030-01-02T00:00:00+00:00")
    assert not matrix.complete and (stopped.run_dir / "matrix.md").is_file()
    assert os.readlink(tmp_path / "latest") == "run-1"


def test_latest_falls_back_to_a_text_file_where_symlinks_fail(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    st = new_store(tmp_path)

    def no_symlinks(*_a: object, **_k: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", no_symlinks)  # a filesystem without symlinks
    link = update_latest(tmp_path, st.run_dir)
    assert link.is_file() and link.read_text().strip() == "run-1"
    assert load_matrix(link).run.run_id == "run-1"


KILLER = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from pathlib import Path
    from reporting_sample import sample_cells, sample_meta
    from calico_conformance.reporting.store import RunStore
    cells = sample_cells()
    st = RunStore.create(Path({root!r}), sample_meta(cells, "killed", finished=False))
    for c in cells[:4]:
        st.write_cell(c)
    print("wrote", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    st.write_cell(cells[4])  # never reached
""")


def test_a_run_killed_mid_matrix_assembles_into_a_valid_partial_matrix(tmp_path: Path) -> None:
    code = KILLER.format(tests=str(Path(__file__).parent), root=str(tmp_path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert proc.stdout.strip() == "wrote"
    matrix = assemble(tmp_path / "killed")
    jsonschema.validate(json.loads(matrix_to_json(matrix)), schema())
    assert not matrix.complete and not matrix.run.finished_at
    real = [c for c in matrix.cells if store.NO_RESULT not in c.evidence.notes]
    assert len(real) == 4
    written = {(c.cell_id, c.repeat) for c in sample_cells()[:4]}
    for c in matrix.cells:
        if (c.cell_id, c.repeat) not in written:
            assert c.verdict is Verdict.UNKNOWN and c.outcome is Outcome.UNKNOWN


def test_latest_points_per_tier_and_profile_so_a_node_run_leaves_the_kind_matrix_alone(
        tmp_path: Path) -> None:
    from calico_conformance.model import RunMeta
    from calico_conformance.reporting.store import latest_names, resolve_run_dir, update_latest

    meta = RunMeta(run_id="r1", suite_version="0", profile="smoke", tier="node")
    assert latest_names(meta) == ["latest", "latest-node", "latest-smoke"]
    run = tmp_path / "r1"
    run.mkdir()
    for name in latest_names(meta):
        update_latest(tmp_path, run, name)
    assert resolve_run_dir(tmp_path / "latest-node") == run
    assert latest_names(RunMeta("r2", "0", "default", tier="kind")) == ["latest", "latest-kind"]
