"""Every command in the README's tables and offline-tools block runs as written.

Offline commands (the plan, lint, report, diff, merge) run for real in a copy of the
project; commands that need Docker run with ``--collect-only``, which still parses every
option and selects the cells, so the README cannot drift from the code again.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.reporting.reporting_sample import sample_cells, sample_meta

from calico_conformance.reporting.store import RunStore

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
OFFLINE_FLAGS = ("--plan",)


def _section(title: str) -> str:
    start = README.index(title)
    end = README.find("\n## ", start + len(title))
    return README[start:end if end != -1 else None]


def table_commands() -> list[str]:
    """The backticked ``pytest ...`` commands in the "Running the matrix" table."""
    rows = [ln for ln in _section("## Running the matrix").splitlines() if ln.startswith("| ")]
    return [cmd for row in rows for cmd in re.findall(r"`(pytest[^`]*)`", row)]


def tool_commands() -> list[str]:
    block = _section("## Running the matrix").split("Offline tools:", 1)[1]
    code = block.split("```sh", 1)[1].split("```", 1)[0]
    return [ln.split("#", 1)[0].strip() for ln in code.splitlines() if ln.strip()]


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    for name in ("clusters", "suites"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "pyproject.toml", root)
    shutil.copy(REPO / "conftest.py", root)
    return root


def _substitute(cmd: str, root: Path) -> list[str]:
    """Placeholders the README uses, made real."""
    mine = root / "mine" / "config.toml"
    mine.parent.mkdir(exist_ok=True)
    mine.write_text('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n'
                    '  sandbox_image = "registry.k8s.io/pause:3.10"\n')
    kind = root / "kind-bin"
    kind.write_text("#!/bin/sh\necho kind v0.24.0\n")
    kind.chmod(0o755)
    (root / "manifests").mkdir(exist_ok=True)
    text = (cmd.replace("/path/to/config.toml", str(mine))
            .replace("/path/to/patch.toml", str(mine))
            .replace("/etc/containerd/config.toml", str(mine))
            .replace("--kind-bin PATH", f"--kind-bin {kind}")
            .replace("DIR", str(root / "manifests"))
            .replace("tests/analyze/", f"{REPO / 'tests' / 'analyze'}/"))
    return shlex.split(text)


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    if argv[0] == "pytest":
        argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *argv[1:]]
    else:
        argv = [sys.executable, "-m", "calico_conformance.cli", *argv[1:]]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)


def test_the_readme_shows_table_commands_and_tools_to_check() -> None:
    assert len(table_commands()) >= 15 and len(tool_commands()) >= 4


@pytest.mark.parametrize("cmd", table_commands())
def test_every_matrix_command_in_the_readme_parses_and_selects_cells(
        cmd: str, tmp_path: Path) -> None:
    root = _project(tmp_path)
    argv = _substitute(cmd, root)
    if "--baseline" in argv:  # a previous run to compare against
        _finished_run(root)
    offline = any(flag in argv for flag in OFFLINE_FLAGS)
    proc = _run(argv if offline else [*argv, "--collect-only", "-q"], root)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out and "INTERNALERROR" not in out
    if offline:
        assert "calico-conformance plan:" in out
    else:
        assert "tests collected" in out and "test_" in out


def _finished_run(root: Path) -> None:
    """A complete earlier run, so ``reports/latest`` exists (the sample the goldens use)."""
    cells = sample_cells()
    store = RunStore.create(root / "reports", sample_meta(cells, run_id="sample"))
    for cell in cells:
        store.write_cell(cell)
    store.finish("2030-01-01T00:00:00+00:00")


def test_every_offline_tool_in_the_readme_runs_for_real(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _finished_run(root)
    for cmd in tool_commands():
        proc = _run(_substitute(cmd, root), root)
        out = proc.stdout + proc.stderr
        if " nodes " in f" {cmd} " and proc.returncode == 2 and "Docker daemon" in out:
            # The node images live in Docker: without a daemon, one line saying so.
            assert len(proc.stderr.strip().splitlines()) == 1, f"{cmd}\n{out[-3000:]}"
            continue
        assert proc.returncode in (0, 1), f"{cmd}\n{out[-3000:]}"  # 1: findings/regressions
        assert "Traceback" not in out, cmd
