"""Every bad input class in README's "Bad input" table: one line, the right exit code,
no traceback, no INTERNALERROR. One test per row; the table and the rows must agree."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from calico_conformance.errors import InputError
from calico_conformance.variants import load_variant

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    [str(REPO / "src"), *filter(None, [os.environ.get("PYTHONPATH", "")])])}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "calico_conformance.cli", *args], env=ENV,
                          capture_output=True, text=True, timeout=120, check=False)


def project(tmp: Path) -> Path:
    root = tmp / "proj"
    shutil.copytree(REPO / "clusters", root / "clusters")
    shutil.copytree(REPO / "suites", root / "suites")
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def pytest_run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=root, env=ENV, capture_output=True, text=True, timeout=300,
                          check=False)


def run_folder(tmp: Path, name: str = "r1") -> Path:
    meta = {"run_id": name, "suite_version": "0", "profile": "p", "planned_ids": []}
    (tmp / name / "cells").mkdir(parents=True)
    (tmp / name / "run.json").write_text(json.dumps(meta))
    return tmp / name


def cell_file(run: Path, **change: object) -> Path:
    cell = {"cell_id": "c1", "axes": {"calico": "-", "variant": "v", "point": "p"},
            "expected": "", "verdict": "stable", **change}
    path = run / "cells" / "c1.json"
    path.write_text(json.dumps(cell))
    return path


def one_line(proc: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == code, out
    assert "Traceback" not in out and "INTERNALERROR" not in out, out
    lines = [ln for ln in proc.stderr.splitlines() if message in ln] if code == 2 else \
        [ln for ln in out.splitlines() if ln.startswith("ERROR:") and message in ln]
    assert len(lines) == 1, out
    if code == 2:
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def deep_toml(tmp: Path) -> None:
    (tmp / "deep.toml").write_text("a = " + "{b = " * 500 + "1" + "}" * 500 + "\n")
    one_line(cli("lint", "--containerd-version", "1.7.18", str(tmp / "deep.toml")), 2,
             "invalid TOML: nested more than 64 levels deep")


def deep_yaml(tmp: Path) -> None:
    (tmp / "deep.yaml").write_text("[" * 3000 + "]" * 3000 + "\n")
    one_line(cli("lint", "--containerd-version", "1.7.18", str(tmp / "deep.yaml")), 2,
             "invalid YAML: nested more than 64 levels deep")


def huge(tmp: Path) -> None:
    (tmp / "big.toml").write_bytes(b"#" * (4 * 1024 * 1024 + 1))
    one_line(cli("lint", "--containerd-version", "1.7.18", str(tmp / "big.toml")), 2,
             "larger than 4 MiB; not a config file this suite reads")


def device(tmp: Path) -> None:
    """Without --containerd-version lint guesses the version from the file: it once read
    /dev/zero to 22 GB. A device is refused before it is opened."""
    for argv in (["lint", "/dev/zero"], ["analyze", "/dev/zero"]):
        one_line(cli(*argv), 2, "a device, not a regular file")


def fifo(tmp: Path) -> None:
    """A FIFO blocks its reader until a writer comes: refused before it is opened."""
    os.mkfifo(tmp / "pipe.toml")
    for argv in (["lint", str(tmp / "pipe.toml")], ["analyze", str(tmp / "pipe.toml")]):
        one_line(cli(*argv), 2, "a FIFO, not a regular file")
    one_line(pytest_run(project(tmp), "--plan", f"--variant={tmp / 'pipe.toml'}"), 4,
             "a FIFO, not a regular file")


def yaml_bomb(tmp: Path) -> None:
    """Nine aliases a level, nine levels: 1 KiB whose walk is 387 million nodes."""
    lines = ["apiVersion: v1", "kind: List", 'a0: &a0 ["x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    (tmp / "bomb.yaml").write_text("\n".join(lines) + "\n")
    one_line(cli("lint", str(tmp / "bomb.yaml")), 2, "more than 64 aliases")
    one_line(cli("analyze", str(tmp / "bomb.yaml")), 2, "more than 64 aliases")


def digit_run(tmp: Path) -> None:
    """Python's int() refuses more than 4,300 digits: a count that long is not kubectl's,
    so it is not read as one (and the paste has nothing else to read)."""
    (tmp / "digits.txt").write_text("calico-node-x   0/1   Running   " + "9" * 10_000 + "   5m\n")
    one_line(cli("analyze", str(tmp / "digits.txt")), 2, "no calico-node pods, events")


def typed_field(tmp: Path) -> None:
    cell_file(run_folder(tmp), repeat="2")
    one_line(cli("report", str(tmp / "r1"), "-o", str(tmp / "out")), 2,
             "not a valid cell result: repeat: expected an integer, not a string")
    assert not (tmp / "out").exists()


def deep_json(tmp: Path) -> None:
    run = run_folder(tmp)
    (run / "cells" / "c1.json").write_text("[" * 100_000 + "]" * 100_000)
    one_line(cli("report", str(run), "-o", str(tmp / "out")), 2, "JSON nested too deeply")
    assert not (tmp / "out").exists()


def onto_file(command: str) -> Callable[[Path], None]:
    def check(tmp: Path) -> None:
        cell_file(run_folder(tmp))
        (tmp / "taken").write_text("x")
        one_line(cli(command, str(tmp / "r1"), "-o", str(tmp / "taken")), 2,
                 "output directory: exists and is not a directory")
        assert (tmp / "taken").read_text() == "x"
    return check


def latest_outside(tmp: Path) -> None:
    cell_file(run_folder(tmp / "elsewhere"))
    (tmp / "reports").mkdir()
    os.symlink(tmp / "elsewhere" / "r1", tmp / "reports" / "latest")
    one_line(cli("report", str(tmp / "reports" / "latest")), 2,
             "points outside its reports folder")


def version_two(tmp: Path) -> None:
    (tmp / "two.toml").write_text('version = "two"\n')
    one_line(pytest_run(project(tmp), "--plan", f"--variant={tmp / 'two.toml'}",
                        "--variant-as-patch"), 4,
             "version = 'two' is not an integer")


def bad_op(tmp: Path) -> None:
    (tmp / "badop.toml").write_text("version = 2\n")
    (tmp / "badop.meta.toml").write_text('[[json6902]]\nop = "remove"\npath = "/nope/x"\n')
    one_line(pytest_run(project(tmp), "--plan", f"--variant={tmp / 'badop.toml'}",
                        "--variant-as-patch"), 4,
             f"{tmp / 'badop.meta.toml'}: JSON6902 patch does not apply")


def reports_file(tmp: Path) -> None:
    (tmp / "afile").write_text("")
    one_line(pytest_run(project(tmp), "--tier", "probe", "--reports-dir", str(tmp / "afile")),
             4, "--reports-dir: exists and is not a directory")


def binary_baseline(tmp: Path) -> None:
    """Was an INTERNALERROR (UnicodeDecodeError)."""
    (tmp / "old.json").write_bytes(bytes(range(128, 256)) * 4)
    one_line(pytest_run(project(tmp), "--tier", "probe", "--baseline", str(tmp / "old.json")),
             4, "not UTF-8 text: binary data, not a stored result")
    one_line(cli("diff", str(tmp / "old.json"), str(tmp / "old.json")), 2,
             "not UTF-8 text: binary data, not a stored result")


def unwritable_reports(tmp: Path) -> None:
    """Was an INTERNALERROR when the run claimed its folder, after collection."""
    one_line(pytest_run(project(tmp), "--tier", "probe", "--reports-dir", "/proc/nope"), 4,
             "--reports-dir: cannot create")


def idle_option(tmp: Path) -> None:
    """Options that do nothing alone were accepted silently."""
    root = project(tmp)
    for argv in (["--with-profile-variants"], ["--variant-as-patch"], ["--expect", "stable"]):
        one_line(pytest_run(root, "--plan", *argv), 4,
                 "applies to --variant files, and none was given")
    (tmp / "mine.toml").write_text("version = 2\n")
    one_line(pytest_run(root, "--plan", "--repro", "calico-9524",
                        f"--variant={tmp / 'mine.toml'}"), 4, "--variant cannot be added to it")


def plan_refuses(tmp: Path, message: str, *args: str) -> None:
    """``pytest --plan ARGS`` is a usage error (exit 4), one line with ``message``."""
    one_line(pytest_run(project(tmp), "--plan", *args), 4, message)


def negative_workers(tmp: Path) -> None:
    plan_refuses(tmp, "the number of workers is 0 or more", "-n", "-1")


def endless_duration(tmp: Path) -> None:
    """A soak that overflows the platform's timers was exit 5, not a usage error."""
    plan_refuses(tmp, "is longer than 30 days", "--soak", "99999999999999h")


def output_in_a_run(tmp: Path) -> None:
    """`report -o` into a run's cells/ corrupted it; onto another run overwrote its matrix."""
    cell_file(run_folder(tmp, "r1"))
    cell_file(run_folder(tmp, "r2"))
    before = (tmp / "r2" / "cells" / "c1.json").read_text()
    one_line(cli("report", str(tmp / "r1"), "-o", str(tmp / "r1" / "cells")), 2,
             "output directory lies inside the run being rendered")
    one_line(cli("report", str(tmp / "r1"), "-o", str(tmp / "r2")), 2,
             "output directory is a run folder")
    one_line(cli("merge", str(tmp / "r1"), "-o", str(tmp / "r2" / "cells" / "x")), 2,
             "which is a run folder")
    assert not (tmp / "r2" / "matrix.json").exists()
    assert (tmp / "r2" / "cells" / "c1.json").read_text() == before


def unsafe_stored_run(tmp: Path) -> None:
    """Links out of a run folder were followed; counts and ids were not range-checked."""
    run = run_folder(tmp)
    outside = tmp / "outside.json"
    outside.write_text("{}")
    (run / "cells" / "c1.json").symlink_to(outside)
    one_line(cli("report", str(run), "-o", str(tmp / "o1")), 2, "is a link")
    (run / "cells" / "c1.json").unlink()
    for change, message in (({"repeat": 0}, "repeat 0 is not from 1 to 100"),
                            ({"cell_id": "../x"}, "is not a cell id"),
                            ({"evidence": {"restarts": -3}}, "a restart count is negative")):
        cell_file(run, **change)
        one_line(cli("report", str(run), "-o", str(tmp / "o2")), 2, message)
    (run / "cells" / "c1.json").unlink()
    cells = tmp / "elsewhere"
    cells.mkdir()
    (run / "cells").rmdir()
    (run / "cells").symlink_to(cells)
    one_line(cli("report", str(run), "-o", str(tmp / "o3")), 2, "is a link")


def huge_repeat(tmp: Path) -> None:
    """--repeat 100000000 planned 100 million items, then a MemoryError after 76 s."""
    plan_refuses(tmp, "--repeat must be from 1 to 100", "--repeat", "100000000")


def huge_shard(tmp: Path) -> None:
    plan_refuses(tmp, "write K/N with 1 <= K <= N <= 1000", "--shard", "1/10000000000")


def garbage_baseline(tmp: Path) -> None:
    (tmp / "old.json").write_text('{"run": {}, "cells": "x"}')
    one_line(pytest_run(project(tmp), "--tier", "probe", "--baseline", str(tmp / "old.json")),
             4, "not a valid matrix.json")


def bad_name(tmp: Path) -> None:
    (tmp / "a[b.toml").write_text("version = 2\n")
    one_line(pytest_run(project(tmp), "--plan", f"--variant={tmp / 'a[b.toml'}"), 4,
             "is not usable")


def escaping_import(tmp: Path) -> None:
    """containerd resolves imports against the importing file's folder, imports of
    imports included; each way out of the variant's folder is refused at load."""
    (tmp / "host.toml").write_text("version = 2\n")
    var = tmp / "var"
    var.mkdir()
    (var / "link.toml").symlink_to(tmp / "host.toml")
    (var / "inner.toml").write_text('version = 2\nimports = ["../host.toml"]\n')
    root = project(tmp)
    for entry in ("../host.toml", "link.toml", "inner.toml"):
        (var / "mine.toml").write_text(f'version = 2\nimports = ["{entry}"]\n')
        one_line(pytest_run(root, "--plan", f"--variant={var / 'mine.toml'}"), 4,
                 "leaves the variant's folder")


def wrong_type(tmp: Path) -> None:
    """containerd refuses (or fails every sandbox on) a value of the wrong type; lint says
    so as an error (exit 1), once, and does not call a quoted "true" unset."""
    (tmp / "typed.toml").write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n'
        'runtime_type = "io.containerd.runc.v2"\n'
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n'
        'SystemdCgroup = "true"\n')
    proc = cli("lint", "--containerd-version", "1.7.24", str(tmp / "typed.toml"))
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if "CC022 error" in ln]
    assert len(lines) == 1 and "SystemdCgroup is a string" in lines[0], proc.stdout
    assert "unset" not in proc.stdout


def foreign_import(tmp: Path) -> None:
    """A binary the probe would run as root, named where the first pass did not look."""
    from calico_conformance.probe.hostpaths import (
        RefusedBinary,
        isolate,
        refuse_foreign_binaries,
    )
    (tmp / "var").mkdir()
    (tmp / "var" / "rt.toml").write_text('[plugins.linux]\nshim = "/tmp/marker.sh"\n')
    with pytest.raises(RefusedBinary, match=r"refused to run .* as root on this host"):
        isolate({"imports": ["rt.toml"]}, tmp / "tree", tmp / "var")
    with pytest.raises(RefusedBinary, match=r"refused to run .* as root on this host"):
        refuse_foreign_binaries({"plugins": {"cri": {"containerd": {"runtimes": {"r": {
            "options": {"Runtime": "/tmp/marker.sh"}}}}}}})


def untested_tier(tmp: Path) -> None:
    """Every cell skipped because the tier cannot run here: not a green run."""
    proc = pytest_run(project(tmp), "--tier", "probe", "--containerd-bin", str(tmp / "none"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out, out
    lines = [ln for ln in out.splitlines()
             if "nothing was tested: probe tier unavailable here: no containerd binary" in ln]
    assert len(lines) == 1, out


def bad_point_id(tmp: Path) -> None:
    """A point id names cells, cluster names and files, like a variant name."""
    root = project(tmp)
    matrix = root / "clusters" / "matrix.toml"
    matrix.write_text(matrix.read_text().replace('id = "k8s1.28"', 'id = "../<b>x"'))
    one_line(pytest_run(root, "--plan"), 4, "point id '../<b>x' is not usable")


def unknown_recipe(tmp: Path) -> None:
    """A typo in [expected_node] would leave the expectation silently unused."""
    root = project(tmp)
    meta = root / "clusters" / "containerd" / "baseline.meta.toml"
    meta.write_text(meta.read_text().replace("[expected_node]", "[expected_node]\nbokworm = "
                                             '"stable"'))
    one_line(pytest_run(root, "--plan"), 4, "'bokworm': no node recipe of that name")


ROWS: dict[str, Callable[[Path], None]] = {
    "TOML nested deeper than 64 levels": deep_toml,
    "YAML nested deeper than 64 levels": deep_yaml,
    "an input larger than 4 MiB": huge,
    "a device given as a file (`lint /dev/zero`, `analyze /dev/zero`)": device,
    "a FIFO given as a file (`lint`, `analyze`, `--variant`)": fifo,
    "YAML with more than 64 aliases (a billion laughs)": yaml_bomb,
    "a run of 10,000 digits where kubectl prints a count": digit_run,
    "a wrongly typed field in a stored result": typed_field,
    "a stored result nested too deeply": deep_json,
    "`report -o` onto an existing file": onto_file("report"),
    "`merge -o` onto an existing file": onto_file("merge"),
    "a `reports/latest` pointing outside its reports folder": latest_outside,
    'a `--variant-as-patch` file with `version = "two"`': version_two,
    "a patch's sidecar JSON6902 op that does not apply": bad_op,
    "`--reports-dir` naming a regular file": reports_file,
    "a garbage `--baseline` (found at start)": garbage_baseline,
    "a binary `--baseline` or `diff` input": binary_baseline,
    "a `--reports-dir` that cannot be created": unwritable_reports,
    "an option that means nothing without `--variant`, or `--repro` with one": idle_option,
    "`-n -1`": negative_workers,
    "a duration over 30 days (`--soak 99999999999999h`)": endless_duration,
    "`report -o` or `merge -o` into a run folder": output_in_a_run,
    "a stored run with a link out, a negative count, `repeat = 0` or a `../` id":
        unsafe_stored_run,
    "`--repeat` above 100": huge_repeat,
    "`--shard` with more than 1000 shards": huge_shard,
    "a variant name with `..`, `[`, spaces, markup or terminal controls": bad_name,
    "an `imports` entry that leaves the variant's folder (`../`, a link, an import's import)":
        escaping_import,
    'a key of the wrong type (`SystemdCgroup = "true"`, `runtimes` as a list, ...): lint exits 1':
        wrong_type,
    "a runtime binary named in an import, a v1 `shim`/`runtime` or v1 options (probe)":
        foreign_import,
    "`--tier probe` where the probe cannot run (no containerd binary)": untested_tier,
    "a matrix point id with `../`, markup or terminal controls": bad_point_id,
    "a sidecar `[expected_node]` naming no node recipe": unknown_recipe,
}


def readme_rows() -> dict[str, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Bad input"):]
    rows = re.findall(r"^\| (.+?) \| `(.+?)` \|$", section, re.M)
    return {what: msg for what, msg in rows if what != "bad input"}


def test_the_readme_table_and_the_tests_list_the_same_bad_inputs() -> None:
    assert list(readme_rows()) == list(ROWS)


@pytest.mark.parametrize("row", list(ROWS))
def test_bad_input_is_one_line_with_the_readme_message(row: str, tmp_path: Path) -> None:
    ROWS[row](tmp_path)


@pytest.mark.parametrize("name", ["..", "", "a[b", "p q", "<b>x<b>", "a\u202eb",
                                  "a\x1b[31mb", "-x", "a" * 64])
def test_a_variant_name_outside_the_one_rule_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.toml"
    path.write_text("version = 2\n")
    with pytest.raises(InputError, match="is not usable"):
        load_variant(path)


def test_names_that_obey_the_rule_map_to_distinct_cell_files() -> None:
    from calico_conformance.reporting.store import cell_filename
    names = ["p_q", "p-q", "p.q", "pq", "P_q"]
    assert len({cell_filename(f"probe-{n}-v1") for n in names}) == len(names)


def test_lint_output_neutralises_terminal_controls_in_paths_and_values(tmp_path: Path) -> None:
    bad = tmp_path / "e\x1b[2Jvil\u202e.toml"
    bad.write_text('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n'
                   '  sandbox_image = "x\\u001b[31m"\n')
    proc = cli("lint", "--containerd-version", "1.7.18", str(bad))
    assert "\x1b" not in proc.stdout + proc.stderr and "\u202e" not in proc.stdout


@pytest.mark.parametrize("argv", [
    ["lint", "clusters/containerd/systemd-cgroup-off.toml"],
    ["analyze", "tests/analyze/fixtures/describe-completed-exit0.txt"]])
def test_a_reader_that_goes_away_is_not_a_traceback(argv: list[str]) -> None:
    """`calico-conformance lint FILE | head -0`: the pipe closes before the first write."""
    proc = subprocess.Popen([sys.executable, "-m", "calico_conformance.cli", *argv], env=ENV,
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the tool writes
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err


@pytest.mark.parametrize("name", ["calico-node-\x1b[31mx\x1b]0;title\x07\u202e", "calico-node-"
                                  + "a" * 100_000], ids=["escapes", "100k-characters"])
def test_analyze_output_neutralises_terminal_controls_and_cuts_long_names(
        tmp_path: Path, name: str) -> None:
    """A paste is anyone's text: its names reach the terminal shown, not obeyed, and a
    100,000-character one is cut with its length said."""
    paste = (REPO / "tests" / "analyze" / "fixtures" / "describe-completed-exit0.txt").read_text()
    pod = re.search(r"^Name:\s+(\S+)", paste, re.M)
    assert pod is not None
    (tmp_path / "paste.txt").write_text(paste.replace(pod[1], name))
    proc = cli("analyze", str(tmp_path / "paste.txt"))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out, out[-2000:]
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", out)
    assert max(map(len, out.splitlines())) < 2000
    assert "a" * 100_000 not in out


def test_an_error_message_cuts_a_100k_name_and_shows_controls(tmp_path: Path) -> None:
    proc = pytest_run(project(tmp_path), "--plan", "--run-id", "x\x1b[2J" + "a" * 100_000)
    assert proc.returncode == 4 and len(proc.stderr) < 1000, proc.stderr[:500]
    assert "\x1b" not in proc.stderr and "characters]" in proc.stderr
