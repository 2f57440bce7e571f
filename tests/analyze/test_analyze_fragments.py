"""Fragments judged from what they prove, restarts per pod and container, next steps, and
variant links that come from stored observations only (issue 21)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from calico_conformance.cli import main
from calico_conformance.matrixfile import matrix_from_json, matrix_to_json
from matrixdoc import read_matrix

OBSERVED = Path(__file__).resolve().parents[2] / "docs" / "observed"

# A describe cut above its pod header and below Last State: no Restart Count line.
MID_DESCRIBE = """\
    Container ID:   containerd://4be1
    Image:          docker.io/calico/node:v3.26.4
    State:          Running
      Started:      Mon, 02 Dec 2024 09:12:40 +0000
    Last State:     Terminated
      Reason:       Completed
      Exit Code:    0
      Started:      Mon, 02 Dec 2024 09:11:37 +0000
      Finished:     Mon, 02 Dec 2024 09:12:39 +0000
"""

INIT_TABLE = """\
NAME                READY   STATUS                  RESTARTS   AGE
calico-node-q7x2m   0/1     Init:CrashLoopBackOff   9          21m
"""

INIT_DESCRIBE = """\
Name:         calico-node-q7x2m
Namespace:    kube-system
Status:       Pending
Init Containers:
  install-cni:
    Image:          docker.io/calico/cni:v3.28.2
    State:          Waiting
      Reason:       CrashLoopBackOff
    Last State:     Terminated
      Reason:       Error
      Exit Code:    1
    Ready:          False
    Restart Count:  9
"""

LONE_ROWS = """\
  Warning  Unhealthy  4m17s (x2291 over 9d)   kubelet  Liveness probe failed: calico/node is not ready: Felix is not live
  Warning  BackOff    <invalid>               kubelet  Back-off restarting failed container
"""  # noqa: E501

TWO_PODS = """\
NAME                READY   STATUS             RESTARTS   AGE
calico-node-aaaaa   0/1     CrashLoopBackOff   7          3h
calico-node-bbbbb   0/1     CrashLoopBackOff   6          3h
"""


def analyze(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str,
            observed: Path = OBSERVED) -> dict[str, Any]:
    paste = tmp_path / "paste.txt"
    paste.write_text(text)
    main(["analyze", "--format", "json", "--observed-dir", str(observed), str(paste)])
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def test_a_previous_termination_shown_without_its_restart_count_is_a_restart(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = analyze(capsys, tmp_path, MID_DESCRIBE)
    assert (doc["verdict"], doc["subtype"]) == ("restarts", "killed-exit-0")
    assert doc["restarts_by_container"] == [{"pod": "calico-node", "container": "calico-node",
                                             "init": False, "restarts": 1, "counted": False}]
    assert any("Restart Count is not in the paste" in n for n in doc["evidence"]["notes"])


def test_one_restart_counts_when_its_termination_is_shown_but_not_as_a_bare_count(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A bare RESTARTS 1 may be a reboot weeks ago; Last State with its exit code is the
    restart itself. An explicit --max-restarts is the user's tolerance, and it holds."""
    counted = MID_DESCRIBE + "    Ready:          True\n    Restart Count:  1\n"
    assert analyze(capsys, tmp_path, counted)["verdict"] == "restarts"
    bare = "calico-node-zz9k2   1/1     Running   1          12d\n"
    assert analyze(capsys, tmp_path, bare)["verdict"] == "stable"
    (tmp_path / "paste.txt").write_text(counted)
    main(["analyze", "--format", "json", "--max-restarts", "1", str(tmp_path / "paste.txt")])
    assert json.loads(capsys.readouterr().out)["verdict"] == "stable"


@pytest.mark.parametrize("text", [INIT_TABLE, INIT_DESCRIBE], ids=["table", "describe"])
def test_an_init_container_in_crash_loop_back_off_is_conclusive_without_a_sandbox_signal(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str) -> None:
    doc = analyze(capsys, tmp_path, text)
    assert (doc["verdict"], doc["subtype"]) == ("restarts", "crashloop-backoff")
    assert "sandbox-recreated" not in [s["id"] for s in doc["signatures"]]
    assert doc["variants"] == []  # nothing observed behaves like a failing init container


def test_event_rows_copied_alone_are_events_whatever_their_age_columns_say(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = analyze(capsys, tmp_path, LONE_ROWS)
    assert [p["status"] for p in doc["parts"]] == ["read"]
    assert doc["verdict"] == "restarts"
    assert {e["reason"]: e["count"] for e in doc["evidence"]["events"]} == {
        "Unhealthy": 2291, "BackOff": 1}


def test_a_line_that_is_not_kubectl_output_is_listed_and_reading_goes_on(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = analyze(capsys, tmp_path, TWO_PODS.replace("\ncalico-node-bbbbb",
                                                     "\n... (cut) ...\ncalico-node-bbbbb"))
    unread = [p for p in doc["parts"] if p["status"] == "not read"]
    assert [p["sample"] for p in unread] == ["... (cut) ..."]
    assert {r["pod"] for r in doc["restarts_by_container"]} == {"calico-node-aaaaa",
                                                                "calico-node-bbbbb"}


def test_restarts_are_given_per_pod_not_only_as_a_sum(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = analyze(capsys, tmp_path, TWO_PODS)
    assert doc["evidence"]["restarts"] == 13
    assert {r["pod"]: r["restarts"] for r in doc["restarts_by_container"]} == {
        "calico-node-aaaaa": 7, "calico-node-bbbbb": 6}
    paste = tmp_path / "paste.txt"
    main(["analyze", "--observed-dir", str(OBSERVED), str(paste)])
    text = capsys.readouterr().out
    assert "calico-node-aaaaa (all, from the table): 7" in text


@pytest.mark.parametrize(("text", "first"), [
    (TWO_PODS, "why it exited: kubectl logs -n <namespace> calico-node-aaaaa --all-containers "
               "--previous"),
    (INIT_DESCRIBE, "why it exited: kubectl logs -n <namespace> calico-node-q7x2m -c "
                    "install-cni --previous"),
    (MID_DESCRIBE, "on the pod's node: calico-conformance check /etc/containerd/config.toml"),
], ids=["crash-loop", "init", "killed-exit-0"])
def test_the_answer_ends_with_the_next_step_for_its_verdict(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, first: str) -> None:
    steps = analyze(capsys, tmp_path, text)["next_steps"]
    assert steps[0].startswith(first)
    assert any(s.startswith("what the kubelet did: kubectl get events -A") for s in steps)


def test_the_9524_variant_is_not_linked_because_it_was_observed_stable(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    doc = analyze(capsys, tmp_path, MID_DESCRIBE)
    names = [v["name"] for v in doc["variants"]]
    assert "report-9524" not in names
    assert "systemd-cgroup-off" in names


def test_a_variant_is_linked_only_through_a_stored_observation(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Move the only stored killed-exit-0 observation of a variant under another name:
    the link follows the data, and with no data there is no link, and a note says why."""
    matrix = matrix_from_json((OBSERVED / "v2-node-table" / "matrix.json").read_text())
    cells = [dataclasses.replace(c, axes=dataclasses.replace(c.axes, variant="renamed"))
             for c in matrix.cells if c.axes.variant == "systemd-cgroup-off"]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "matrix.json").write_text(
        matrix_to_json(dataclasses.replace(matrix, cells=tuple(cells))))
    doc = analyze(capsys, tmp_path, MID_DESCRIBE, observed=tmp_path)
    assert [v["name"] for v in doc["variants"]] == ["renamed"]
    assert "cgroup v2" in doc["variants"][0]["observed"]
    assert read_matrix(tmp_path / "mine" / "matrix.json")["cells"]
    empty = analyze(capsys, tmp_path, MID_DESCRIBE, observed=tmp_path / "none")
    assert empty["variants"] == []
    assert any("no stored observations" in n for n in empty["notes"])
