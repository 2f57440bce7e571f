"""Real node-tier runs interrupted the way CI and people do it; nothing of the run remains.

Each test starts ``pytest --tier node`` on the baseline cell in a bookworm node, in a
throw-away project, waits for a moment (the node is starting; the workload is in its
window; every result is stored and the report is next), signals the pytest process, and
then looks for anything of *that* run: containers with its label, the node's cgroups on
the host, its CRI socket directory, temp files in the run folder.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.interrupts import (
    ENV,
    SIGNALS,
    assert_cell_shown_as,
    assert_reportable,
    copy_project,
    results_stored,
    send,
    wait_for,
)

from calico_conformance import runrecord
from calico_conformance.node.docker import find_docker
from calico_conformance.node.recipes import Recipe

from .conftest import built_image

pytestmark = pytest.mark.realnode


@pytest.fixture
def project(tmp_path: Path, recipes: dict[str, Recipe]) -> Path:
    built_image(recipes, "bookworm")
    return copy_project(tmp_path)


def start(project: Path, run_id: str, window: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--profile", "smoke",
         "--tier", "node", "--node-images", "bookworm", "-k", "node-baseline",
         "--node-window", window, "--run-id", run_id],
        cwd=project, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def node_entry(run: Path) -> dict[str, Any] | None:
    return next((e for e in runrecord.read(run / runrecord.RECORD_FILE)
                 if e["kind"] == "node"), None)


def in_window(name: str) -> bool:
    """The sandbox and the calico-node-like container both run inside the node."""
    res = find_docker().exec(name, "ctr", "-n", "k8s.io", "tasks", "ls")
    return res.stdout.count("RUNNING") >= 2


def container_id(name: str) -> str:
    found = find_docker().owner(name)
    return found[0] if found else ""


def leftovers(run_id: str, entry: dict[str, Any], cid: str) -> list[str]:
    out = [f"container {c}" for c in find_docker().containers(run_id)]
    if cid:
        out += [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/docker/{cid}")]
    if Path(entry["socket_dir"]).exists():
        out.append(entry["socket_dir"])
    return out


@pytest.mark.parametrize("moment", ["start", "window", "report"])
@pytest.mark.parametrize("sigs", list(SIGNALS))
def test_an_interrupted_node_run_leaves_nothing_behind(project: Path, moment: str,
                                                       sigs: str) -> None:
    run_id = f"sig-{uuid.uuid4().hex[:6]}"
    run = project / "reports" / run_id
    proc = start(project, run_id, "2s" if moment == "report" else "60s")
    cid = ""
    try:
        entry = wait_for(lambda: node_entry(run), timeout=120)
        assert isinstance(entry, dict)
        if moment != "start":
            cid = str(wait_for(lambda: container_id(entry["name"]), timeout=60))
        if moment == "window":
            wait_for(lambda: in_window(entry["name"]), timeout=120)
        if moment == "report":
            wait_for(lambda: results_stored(run), timeout=180)
    finally:
        out = send(proc, SIGNALS[sigs])
    assert proc.returncode in ((0, 2) if moment == "report" else (2,)), out  # 2: interrupted
    assert leftovers(run_id, entry, cid) == [], out
    assert_reportable(run, ENV, out)
    assert_cell_shown_as(run, moment)


@pytest.mark.parametrize("reaper", ["clean", "next-run"])
def test_after_kill_9_the_reaper_removes_the_node_of_the_dead_run(
        project: Path, reaper: str) -> None:
    run_id = f"k9-{uuid.uuid4().hex[:6]}"
    run = project / "reports" / run_id
    proc = start(project, run_id, "60s")
    try:
        entry = wait_for(lambda: node_entry(run), timeout=120)
        assert isinstance(entry, dict)
        cid = str(wait_for(lambda: container_id(entry["name"]), timeout=60))
        wait_for(lambda: in_window(entry["name"]), timeout=120)
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert leftovers(run_id, entry, cid), "a kill -9 should leave the node for the reaper"
    listing = subprocess.run([sys.executable, "-m", "calico_conformance.cli", "clusters",
                              "list", "--reports-dir", str(project / "reports")], env=ENV,
                             capture_output=True, text=True, timeout=120, check=False)
    assert f"{entry['name']}  node container  run {run_id} (dead)  exists" in listing.stdout
    if reaper == "next-run":  # the next run reaps the dead one before it starts
        nxt = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                              "--profile", "smoke", "--tier", "node", "--node-images",
                              "bookworm", "-k", "node-baseline", "--node-window", "1s",
                              "--run-id", f"{run_id}-next"], cwd=project, env=ENV,
                             capture_output=True, text=True, timeout=300, check=False)
        assert f"{run_id}: node {entry['name']}: removed" in nxt.stdout, nxt.stdout
    else:
        clean = subprocess.run([sys.executable, "-m", "calico_conformance.cli", "clean",
                                "--reports-dir", str(project / "reports")], env=ENV,
                               capture_output=True, text=True, timeout=300, check=False)
        assert f"node {entry['name']}: removed" in clean.stdout, clean.stdout + clean.stderr
    assert leftovers(run_id, entry, cid) == []
