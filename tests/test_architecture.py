"""docs/ARCHITECTURE.md stays true: its layer table is the import-linter contract, the
contract holds on the code, a back-import breaks it, and the house rules hold."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from calico_conformance.datafile import load_toml

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "calico_conformance"
DOC = ROOT / "docs" / "ARCHITECTURE.md"


def _contract(contract_id: str) -> dict[str, object]:
    data = load_toml(ROOT / "pyproject.toml")
    found: dict[str, object] = next(c for c in data["tool"]["importlinter"]["contracts"]
                                    if c["id"] == contract_id)
    return found


def _layer_modules(layer: str) -> list[str]:
    return [m.strip() for m in re.split(r"[:|]", layer)]


def _doc_layers() -> list[list[str]]:
    """The modules each row of the doc's layer table names in its 'modules' cell."""
    text = DOC.read_text()
    table = text.split("## Layers", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in table.splitlines() if ln.startswith("| ") and "---" not in ln][1:]
    out = []
    for row in rows:
        cell = row.split(" | ")[1]
        cell = re.sub(r"\([^()]*(\([^()]*\)[^()]*)*\)", "", cell)  # drop the glosses
        cell = cell.split(", each entered")[0]
        out.append([m.rstrip("/").split(".")[0] for m in re.findall(r"`([a-z_/]+)[`.]", cell)])
    return out


def _lint_imports(config: Path, cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    return subprocess.run([exe, "--config", str(config), "--no-cache"], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(pythonpath),
                               "PATH": str(Path(sys.executable).parent)})


def test_the_docs_layer_table_is_the_import_linter_contract_in_the_same_order() -> None:
    contract = [_layer_modules(layer) for layer in _contract("layers")["layers"]]  # type: ignore[union-attr]
    assert _doc_layers() == contract


def test_every_module_and_package_of_the_package_sits_in_a_layer() -> None:
    named = {m for layer in _contract("layers")["layers"]  # type: ignore[union-attr]
             for m in _layer_modules(layer)}
    present = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    present |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert present == named


def test_the_code_keeps_every_contract() -> None:
    res = _lint_imports(ROOT / "pyproject.toml", ROOT, ROOT / "src")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "0 broken" in res.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("verdict.py", "from .session import ConformanceSession", "imports only point down"),
    ("node/cgroups.py", "from ..probe import daemon", "imports only point down"),
    ("node/kubelet.py", "from . import docker_node", "does not know which backend"),
])
def test_a_back_import_breaks_the_contract(tmp_path: Path, module: str, line: str,
                                          contract: str) -> None:
    """The contract can fail: a planted import that runs back up is reported."""
    shutil.copytree(PACKAGE, tmp_path / "src" / "calico_conformance",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "src" / "calico_conformance" / module
    target.write_text(target.read_text() + f"\n{line}  # planted\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    res = _lint_imports(tmp_path / "pyproject.toml", tmp_path, tmp_path / "src")
    assert res.returncode != 0
    assert "BROKEN" in res.stdout and contract in res.stdout


def test_every_error_class_lives_in_errors_py() -> None:
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    re.search(r"(Error|Exception|Failed|Interrupt)$", ast.unparse(b))
                    for b in node.bases):
                found.append(f"{path.relative_to(PACKAGE)}:{node.name}")
    assert found == []


def test_no_module_is_over_300_lines() -> None:
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 300}
    assert long == {}


def test_the_node_wing_never_reads_the_hosts_cgroup_tree_or_the_probe_wing() -> None:
    """A node's cgroups are the node's: read through the backend (so a virtual machine's
    are found the same way); only the host module removes what a container left."""
    for path in (PACKAGE / "node").rglob("*.py"):
        text = path.read_text()
        assert 'Path("/sys/fs/cgroup' not in text, path
        assert "CGROUP_ROOT" not in text, path
        assert "..probe" not in text and "calico_conformance.probe" not in text, path


def test_each_tier_has_one_entry_by_one_name_and_there_is_one_runner() -> None:
    assert [p.relative_to(PACKAGE) for p in PACKAGE.rglob("runner.py")] == [Path("runner.py")]
    for tier in ("kind", "node", "probe"):
        tree = ast.parse((PACKAGE / tier / "cell.py").read_text())
        assert "run_cell" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert "run_cell" in (PACKAGE / tier / "__init__.py").read_text()


def test_every_registered_node_backend_and_tier_resolves() -> None:
    from calico_conformance.node.backend import BACKENDS, backend
    from calico_conformance.settings import TIERS as CHOICES
    from calico_conformance.tiers import TIERS

    for name in BACKENDS:
        assert backend(name).name == name
    assert [t.name for t in TIERS] == ["probe", "node", "kind"]
    assert set(CHOICES) == {t.name for t in TIERS} | {"all"}
    for t in TIERS:
        assert (ROOT / "suites").glob("test_*.py")
        assert any(t.fixture in p.read_text() for p in (ROOT / "suites").glob("test_*.py"))
