"""The reaper and `clusters prune` touch only what a dead run recorded."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calico_conformance import runrecord
from calico_conformance.cli import main

FAKE_KIND = """#!/bin/sh
case "$1 $2" in
  "get clusters") printf 'calico-conf-dead\\ncalico-conf-live\\ncalico-conf-x-y-123456\\nsomeone-else\\n' ;;
  "delete cluster") echo "$3" >> "{log}" ;;
esac
exit 0
"""  # noqa: E501


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
    run_with(reports, "dead", {"pid": 999_999_999, "ticks": 1}, kind, "calico-conf-dead")
    run_with(reports, "live", me, kind, "calico-conf-live")
    assert main(["clusters", "list", "--reports-dir", str(reports), "--kind-bin", str(kind)]) == 0
    listing = capsys.readouterr().out
    assert "calico-conf-dead  cluster  run dead (dead)  exists" in listing
    assert "calico-conf-live  cluster  run live (running)  exists" in listing
    assert "calico-conf-x-y-123456  cluster  run unknown" in listing
    assert "someone-else" not in listing
    assert main(["clusters", "prune", "--reports-dir", str(reports), "--kind-bin", str(kind)]) == 0
    assert log.read_text().split() == ["--name=calico-conf-dead"]
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


FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "{log}"
case "$1" in
  ps) printf 'ccnode-dead-1 dead\\nccnode-live-1 live\\nccnode-stray-1 elsewhere\\n' ;;
  inspect) case "$6" in
             ccnode-dead-1) echo "aaaa1111 dead" ;;
             ccnode-relabelled-1) echo "bbbb2222 someone-else" ;;
             *) echo "Error: No such container: $6" >&2; exit 1 ;;
           esac ;;
esac
exit 0
"""


def node_entry(record: Path, name: str, run_id: str, docker: Path, sock: Path) -> None:
    runrecord.append(record, "node", name=name, run_id=run_id, socket_dir=str(sock),
                     docker=str(docker))


@pytest.fixture
def socks() -> Iterator[list[Path]]:
    """Three node socket directories where the reaper expects them (the temp dir), gone
    afterwards whatever the test did."""
    made = [Path(tempfile.mkdtemp(prefix="ccn-test-")) for _ in range(3)]
    yield made
    for d in made:
        shutil.rmtree(d, ignore_errors=True)


def test_node_containers_are_listed_with_their_runs_and_pruned_only_for_dead_runs(
        tmp_path: Path, socks: list[Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "docker.log"
    docker = tmp_path / "docker"
    docker.write_text(FAKE_DOCKER.replace("{log}", str(log)))
    docker.chmod(0o755)
    # Listing asks the configured docker (the one on PATH), never a binary a record names.
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    reports = tmp_path / "reports"
    me = {"pid": os.getpid(), "ticks": runrecord.start_ticks(os.getpid())}
    for run, owner, name, sock in (("dead", {"pid": 999_999_999, "ticks": 1}, "ccnode-dead-1",
                                    socks[0]),
                                   ("live", me, "ccnode-live-1", socks[1]),
                                   ("dead2", {"pid": 999_999_999, "ticks": 1},
                                    "ccnode-relabelled-1", socks[2])):
        (reports / run).mkdir(parents=True)
        runrecord.append(reports / run / runrecord.RECORD_FILE, "owner", **owner)
        node_entry(reports / run / runrecord.RECORD_FILE, name, run, docker, sock)
    assert main(["clusters", "list", "--reports-dir", str(reports),
                 "--kind-bin", str(tmp_path / "no-kind")]) == 0
    listing = capsys.readouterr().out
    assert "ccnode-dead-1  node container  run dead (dead)  exists" in listing
    assert "ccnode-live-1  node container  run live (running)  exists" in listing
    assert "ccnode-relabelled-1  node container  run dead2 (dead)  gone" in listing
    assert "ccnode-stray-1  node container of run elsewhere  run unknown" in listing
    assert main(["clusters", "prune", "--reports-dir", str(reports)]) == 0
    calls = log.read_text().splitlines()
    removed = [c for c in calls if c.startswith(("stop", "rm"))]
    assert removed == ["stop --time 10 ccnode-dead-1", "rm --force --volumes ccnode-dead-1"]
    assert not socks[0].exists() and not socks[2].exists()  # the dead runs' socket dirs
    assert socks[1].is_dir()  # the live run's is untouched


MARKER_SCRIPT = """#!/bin/sh
touch "{marker}"
"""


def test_a_hostile_record_makes_the_reaper_kill_run_or_delete_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22: an edited started.jsonl named a PID that was not the run's containerd, a
    binary to execute as kind or docker, and a tree outside the probe's own."""
    import subprocess
    import sys

    from calico_conformance.reap import reap_run

    marker = tmp_path / "executed"
    script = tmp_path / "evil"
    script.write_text(MARKER_SCRIPT.replace("{marker}", str(marker)))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", "/nonexistent")  # no kind or docker of ours either
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    victim = Path(tempfile.mkdtemp(prefix="ccprobe-0123456789-"))  # the right name, no mark
    (victim / "data").write_text("keep me")
    sock = Path(tempfile.mkdtemp(prefix="ccn-hostile-"))
    try:
        run = tmp_path / "reports" / "dead"
        run.mkdir(parents=True)
        record = run / runrecord.RECORD_FILE
        runrecord.append(record, "owner", pid=999_999_999, ticks=1)
        runrecord.append(record, "daemon", pid=bystander.pid,
                         ticks=runrecord.start_ticks(bystander.pid))
        runrecord.append(record, "cluster", name="calico-conf-x", kind_bin=str(script),
                         kubeconfig=str(tmp_path / "kubeconfig"))
        node_entry(record, "ccnode-x-1", "dead", script, sock)
        runrecord.append(record, "probe", base=str(victim), sock_dir=str(victim),
                         token="0123456789")
        lines = reap_run(run)
        assert bystander.poll() is None, "a process that is not a probe's containerd died"
        assert any("left alone: not a probe's containerd" in line for line in lines)
        assert not marker.exists(), "a binary named in the record was executed"
        assert (victim / "data").read_text() == "keep me"
        assert any("not a probe tree" in line for line in lines)
    finally:
        bystander.kill()
        bystander.wait()
        shutil.rmtree(victim, ignore_errors=True)
        shutil.rmtree(sock, ignore_errors=True)


# -- property: whatever a record says, nothing outside the run is killed, run or deleted ----

_TOKENS = st.sampled_from(["0123456789", "abcdef0123", "../../etc", "", "x" * 10])
_VALUES = st.one_of(st.none(), st.integers(-5, 2**40), st.text(max_size=20), st.booleans(),
                    st.lists(st.integers(), max_size=2))


@st.composite
def _hostile_entries(draw: st.DrawFn, targets: dict[str, Any]) -> list[dict[str, Any]]:
    """Entries of every kind, their fields drawn from the real targets (a bystander's PID
    and start time, a script, an unmarked tree named like a probe's) and from junk."""
    pick = st.one_of(st.sampled_from(list(targets.values())), _VALUES)
    kinds = st.sampled_from(["owner", "daemon", "probe", "cluster", "node", "closed", "vm",
                             "junk"])
    fields = st.fixed_dictionaries({}, optional={
        k: pick for k in ("pid", "ticks", "base", "sock_dir", "token", "name", "kind_bin",
                          "kubeconfig", "docker", "socket_dir", "run_id", "backend")})
    return [{"kind": draw(kinds), **draw(fields)} for _ in range(draw(st.integers(1, 6)))]


@pytest.fixture(scope="module")
def hostile_targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import subprocess
    import sys
    tmp = tmp_path_factory.mktemp("hostile")
    marker, script = tmp / "executed", tmp / "evil"
    script.write_text(MARKER_SCRIPT.replace("{marker}", str(marker)))
    script.chmod(0o755)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    victim = Path(tempfile.mkdtemp(prefix="ccprobe-0123456789-"))
    (victim / "data").write_text("keep me")
    try:
        yield {"pid": bystander.pid, "ticks": runrecord.start_ticks(bystander.pid),
               "script": str(script), "victim": str(victim), "marker": str(marker),
               "home": str(Path.home()), "cluster": "calico-conf-x", "token": "0123456789",
               "proc": bystander}
    finally:
        bystander.kill()
        bystander.wait()
        shutil.rmtree(victim, ignore_errors=True)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_record_makes_the_reaper_kill_run_or_delete_what_is_not_the_runs(
        data: st.DataObject, hostile_targets: dict[str, Any], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from calico_conformance.reap import reap_run
    monkeypatch.setenv("PATH", "/nonexistent")
    targets = {k: v for k, v in hostile_targets.items() if k != "proc"}
    run = Path(tempfile.mkdtemp(dir=tmp_path)) / "dead"
    run.mkdir()
    record = run / runrecord.RECORD_FILE
    runrecord.append(record, "owner", pid=999_999_999, ticks=1)
    for entry in data.draw(_hostile_entries(targets)):
        kind = str(entry.pop("kind"))
        runrecord.append(record, kind, **entry)
    reap_run(run)
    assert hostile_targets["proc"].poll() is None, "a bystander was killed"
    assert not Path(hostile_targets["marker"]).exists(), "a recorded binary was run"
    assert (Path(hostile_targets["victim"]) / "data").read_text() == "keep me"


def test_names_from_a_record_reach_the_terminal_shown_not_obeyed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "reports"
    kind = tmp_path / "kind"
    kind.write_text(FAKE_KIND.replace("{log}", str(tmp_path / "deleted")))
    kind.chmod(0o755)
    run_with(reports, "dead", {"pid": 999_999_999, "ticks": 1}, kind,
             "calico-conf-\x1b]0;owned\x07\x1b[2J" + "x" * 5000)
    assert main(["clusters", "list", "--reports-dir", str(reports), "--kind-bin", str(kind)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "characters]" in out
