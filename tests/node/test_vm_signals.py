"""Real VM-node runs interrupted the way CI and people do it; nothing of the run remains:
no qemu, no serial-log directory, no snapshot overlay.

Each test starts ``pytest --tier node --node-backends vm`` on the baseline cell in a trixie
VM, waits until qemu runs (and, mid-window, until the pod runs in the guest), signals the
pytest process, and looks for anything of that run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from tests.interrupts import ENV, SIGNALS, assert_reportable, copy_project, send, wait_for

from calico_conformance import runrecord
from calico_conformance.node import backend
from calico_conformance.node.recipes import Recipe

pytestmark = pytest.mark.realvm
OVERLAYS = Path(os.environ.get("TMPDIR", "/var/tmp"))  # where qemu's snapshot=on file goes


@pytest.fixture
def project(tmp_path: Path, recipes: dict[str, Recipe]) -> Path:
    nodes = backend("vm")
    reason = nodes.unavailable() or nodes.image_missing(recipes["trixie"].tag, "trixie")
    if reason:
        pytest.skip(f"vm node tier unavailable: {reason}")
    return copy_project(tmp_path / "p")


def start(project: Path, run_id: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--profile", "smoke",
         "--tier", "node", "--node-backends", "vm", "--node-images", "trixie", "-k",
         "node-baseline", "--run-id", run_id],
        cwd=project, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def vm_entry(run: Path) -> dict[str, Any] | None:
    return next((e for e in runrecord.read(run / runrecord.RECORD_FILE)
                 if e["kind"] == "node" and e.get("backend") == "vm"), None)


def settled(entry: dict[str, Any], overlays_before: set[Path]) -> list[str]:
    """What is left once a killed qemu has had time to exit (a guest's memory takes a
    moment to free): waits on the process, bounded, then lists what remains."""
    with contextlib.suppress(AssertionError):  # timed out: the list below says what is left
        wait_for(lambda: not leftovers(entry, overlays_before), timeout=60)
    return leftovers(entry, overlays_before)


def leftovers(entry: dict[str, Any], overlays_before: set[Path]) -> list[str]:
    out = []
    if runrecord.alive(entry["pid"], entry.get("ticks")):
        out.append(f"qemu {entry['pid']}")
    if Path(entry["dir"]).exists():
        out.append(entry["dir"])
    out += [str(p) for p in set(OVERLAYS.glob("vl.*")) - overlays_before]
    return out


def serial(entry: dict[str, Any]) -> str:
    path = Path(entry["dir"]) / "serial.log"
    return path.read_text(errors="replace") if path.is_file() else ""


def launch(project: Path, prefix: str) -> tuple[subprocess.Popen[str], Path, set[Path]]:
    run_id = f"{prefix}-{uuid.uuid4().hex[:6]}"
    before = set(OVERLAYS.glob("vl.*"))
    return start(project, run_id), project / "reports" / run_id, before


@pytest.mark.parametrize("sigs", list(SIGNALS))
def test_an_interrupted_vm_run_leaves_nothing_behind(project: Path, sigs: str) -> None:
    proc, run, before = launch(project, "vmsig")
    try:
        entry = wait_for(lambda: vm_entry(run), timeout=120)
        assert isinstance(entry, dict)
        wait_for(lambda: serial(entry), timeout=60)
    finally:
        out = send(proc, SIGNALS[sigs])
    assert proc.returncode == 2, out  # interrupted
    assert settled(entry, before) == [], out
    assert_reportable(run, ENV, out)


def test_after_kill_9_clean_kills_the_vm_of_the_dead_run(project: Path) -> None:
    proc, run, before = launch(project, "vmk9")
    try:
        entry = wait_for(lambda: vm_entry(run), timeout=120)
        assert isinstance(entry, dict)
        wait_for(lambda: "VMNODE-READY" in serial(entry), timeout=300)
        proc.kill()
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    clean = subprocess.run([sys.executable, "-m", "calico_conformance.cli", "clean",
                            "--reports-dir", str(project / "reports")], env=ENV,
                           capture_output=True, text=True, timeout=300, check=False)
    assert f"node {entry['name']}:" in clean.stdout, clean.stdout + clean.stderr
    assert settled(entry, before) == [], clean.stdout
