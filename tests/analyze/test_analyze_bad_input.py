"""Garbage, binary, truncated or mixed-up input: one line naming the file, exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from calico_conformance.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
PODS = (FIXTURES / "pods.json").read_text()

BAD: dict[str, Callable[[Path], bytes | None]] = {
    "prose": lambda p: b"hello world\nthis is not kubectl output\n",
    "binary": lambda p: bytes(range(256)) * 8,
    "png": lambda p: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "latin-1": lambda p: "Name: calico-node-\xe9\n".encode("latin-1"),
    "truncated-json": lambda p: PODS[:300].encode(),
    "json-then-text": lambda p: (PODS + "\n  Warning  Unhealthy  1s  kubelet  x\n").encode(),
    "broken-yaml": lambda p: b"apiVersion: v1\nkind: Pod\nmetadata: {name: [\n",
    "yaml-without-pods": lambda p: b"apiVersion: apps/v1\nkind: Deployment\nmetadata: {}\n",
    "deep-json": lambda p: b"[" * 100_000,
    "empty": lambda p: b"",
    "blank": lambda p: b"\n\n   \n",
    "wrong-types": lambda p: json.dumps({"kind": "Pod", "status": {"containerStatuses": [
        {"name": "calico-node", "restartCount": "7"}]}}).encode(),
    "wrong-shape": lambda p: json.dumps({"kind": "Pod", "metadata": {"labels": ["x"]},
                                         "status": {"containerStatuses": []}}).encode(),
    "wrong-event": lambda p: json.dumps({"kind": "Event", "involvedObject": {"name": 5},
                                         "reason": "Killing"}).encode(),
    "directory": lambda p: None,
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_gets_one_line_naming_the_file_and_exit_two(
        case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / f"{case}.txt"
    data = BAD[case](path)
    if data is None:
        path.mkdir()
    else:
        path.write_bytes(data)
    rc = main(["analyze", str(path)])
    captured = capsys.readouterr()
    assert rc == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0], captured.err
    assert "Traceback" not in captured.err


def test_a_missing_file_and_dev_zero_are_one_line_too(
        capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("/nonexistent/paste.txt", "/dev/zero"):
        assert main(["analyze", name]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and name in err
