"""The reaper and `clusters prune` touch only what a dead run recorded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from calico_conformance import runrecord
from calico_conformance.cli import main

FAKE_KIND = """#!/bin/sh
case "$1 $2" in
  "get clusters") printf 'cc-dead-run\\ncc-live-run\\ncalico-conf-x-y-123456\\nsomeone-else\\n' ;;
  "delete cluster") echo "$3" >> "{log}" ;;
esac
exit 0
"""


def run_with(reports: Path, name: str, owner: dict[str, int | None], kind: Path,
             cluster: str) -> Path:
    run = reports / name
    run.mkdir(parents=True)
    runrecord.append(run / runrecord.RECORD_FILE, "owner", **owner)
    runrecord.append(run / runrecord.RECORD_FILE, "cluster", name=cluster, kind_bin=str(kind),
                     kubeconfig=str(run / "kubeconfig"))
    return run


def test_a_runs_state_follows_its_owner_and_its_closing_line(tmp_path: Path) -> None:
    me = {"pid": os.getpid(), "ticks": runrecord.start_ticks(os.getpid())}
    recycled = {"pid": os.getpid(), "ticks": (me["ticks"] or 0) + 1}  # same PID, other start
    assert runrecord.state([{"kind": "owner", **me}]) == "running"
    assert runrecord.state([{"kind": "owner", **recycled}]) == "dead"
    assert runrecord.state([{"kind": "owner", **recycled}, {"kind": "closed"}]) == "closed"
    (tmp_path / "r.jsonl").write_text('{"kind": "owner", "pid": 1}\n{"kind": "pro')
    assert [e["kind"] for e in runrecord.read(tmp_path / "r.jsonl")] == ["owner"]


def test_prune_deletes_only_the_recorded_clusters_of_dead_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "deleted.log"
    kind = tmp_path / "kind"
    kind.write_text(FAKE_KIND.replace("{log}", str(log)))
    kind.chmod(0o755)
    reports = tmp_path / "reports"
    me = {"pid": os.getpid(), "ticks": runrecord.start_ticks(os.getpid())}
    run_with(reports, "dead", {"pid": 999_999_999, "ticks": 1}, kind, "cc-dead-run")
    run_with(reports, "live", me, kind, "cc-live-run")
    assert main(["clusters", "list", "--reports-dir", str(reports), "--kind-bin", str(kind)]) == 0
    listing = capsys.readouterr().out
    assert "cc-dead-run  run dead (dead)  exists" in listing
    assert "cc-live-run  run live (running)  exists" in listing
    assert "calico-conf-x-y-123456  run unknown" in listing and "someone-else" not in listing
    assert main(["clusters", "prune", "--reports-dir", str(reports)]) == 0
    assert log.read_text().split() == ["--name=cc-dead-run"]
    assert main(["clean", "--reports-dir", str(reports)]) == 0  # dead run: already pruned
    lines = [json.loads(x) for x in (reports / "live" / "started.jsonl").read_text().splitlines()]
    assert [x["kind"] for x in lines] == ["owner", "cluster"]  # the live run is untouched


def test_an_edited_record_cannot_make_the_reaper_remove_something_else(tmp_path: Path) -> None:
    from calico_conformance.reap import reap_run

    victim = tmp_path / "precious"
    victim.mkdir()
    (victim / "data").write_text("keep me")
    run = tmp_path / "reports" / "dead"
    run.mkdir(parents=True)
    record = run / runrecord.RECORD_FILE
    runrecord.append(record, "owner", pid=999_999_999, ticks=1)
    runrecord.append(record, "probe", base=str(victim), sock_dir=str(victim),
                     token="0123456789")
    assert any("ignored" in line for line in reap_run(run))
    assert (victim / "data").read_text() == "keep me"
