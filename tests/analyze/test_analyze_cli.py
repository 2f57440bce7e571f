"""`calico-conformance analyze` on hand-written pastes: verdict, signature, exit code.

Each fixture is written in a format people paste into issues; the 9524 one is the
report's own text as stored (its describe stops mid-container, its events are bare rows
with wrapped probe messages).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from calico_conformance.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
OBSERVED = Path(__file__).resolve().parents[2] / "docs" / "observed"


def analyze(capsys: pytest.CaptureFixture[str], clusters_dir: Path, *files: str,
            extra: tuple[str, ...] = ()) -> tuple[int, dict[str, Any]]:
    rc = main(["analyze", "--format", "json", "--clusters-dir", str(clusters_dir),
               "--observed-dir", str(OBSERVED), *extra, *(str(FIXTURES / f) for f in files)])
    out = capsys.readouterr().out
    return rc, json.loads(out)


CASES = [
    # fixture, verdict, subtype, a signature it must match
    ("describe-completed-exit0.txt", "restarts", "killed-exit-0", "killed-exit-0"),
    ("describe-init-restarts.txt", "restarts", "sandbox-recreated", "sandbox-recreated"),
    ("get-pods-crashloop.txt", "restarts", "crashloop-backoff", "cause-not-shown"),
    ("get-pods-wide-row.txt", "never-ready", "probe", None),
    ("events-bird-wrapped.txt", "never-ready", "bird", "bird-bgp-peer"),
    ("events-sandboxchanged.txt", "restarts", "sandbox-recreated", "sandbox-recreated"),
    ("describe-unknown-255.txt", "restarts", "runtime-restarted", "runtime-restarted"),
    ("describe-mid-container-137.txt", "restarts", "killed-exit-137", "sigterm-ignored"),
    ("pods.json", "restarts", "killed-exit-0", "killed-exit-0"),
    ("events.json", "restarts", "sandbox-recreated", "sandbox-recreated"),
    ("calico-9524-report.txt", "restarts", "sandbox-recreated", "sandbox-recreated"),
]


@pytest.mark.parametrize(("fixture", "verdict", "subtype", "signature"), CASES,
                         ids=[c[0] for c in CASES])
def test_each_paste_gets_its_verdict_and_signature_and_exits_one_when_unstable(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path, fixture: str, verdict: str,
        subtype: str, signature: str | None) -> None:
    rc, doc = analyze(capsys, clusters_dir, fixture)
    assert (doc["verdict"], doc["subtype"]) == (verdict, subtype)
    if signature:
        assert signature in [s["id"] for s in doc["signatures"]]
    assert rc == doc["exit_code"] == 1
    assert doc["snapshot"] is True


def test_a_stable_yaml_pod_and_an_old_kubectl_table_exit_zero(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path) -> None:
    for fixture in ("pod-stable.yaml", "get-pods-old-kubectl.txt"):
        rc, doc = analyze(capsys, clusters_dir, fixture)
        assert (rc, doc["verdict"]) == (0, "stable"), fixture


def test_the_reports_own_paste_names_calico_9524_among_its_matches(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path) -> None:
    _, doc = analyze(capsys, clusters_dir, "calico-9524-report.txt")
    assert "calico-9524" in [r["id"] for r in doc["repros"]]
    assert "systemd-cgroup-off" in [v["name"] for v in doc["variants"]]
    assert {"CC001"} <= {r["code"] for r in doc["lint_rules"]}
    notes = doc["evidence"]["notes"]
    assert any("install-cni x7" in n and "sandbox is re-created" in n for n in notes)


def test_it_says_which_lines_were_read_and_which_were_not(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path) -> None:
    _, doc = analyze(capsys, clusters_dir, "calico-9524-report.txt")
    unread = [p for p in doc["parts"] if p["status"] == "not read"]
    assert [p["where"].rsplit(":", 1)[1] for p in unread] == ["35", "38"]
    assert any("stops inside container install-cni" in a for a in doc["assumed"])
    read = [p["what"] for p in doc["parts"] if p["status"] == "read"]
    assert "kubectl describe pod calico-node-cbd5s" in read


def test_a_describe_that_starts_inside_a_container_says_what_it_assumed(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path) -> None:
    _, doc = analyze(capsys, clusters_dir, "describe-mid-container-137.txt")
    assert any("starts inside a container section" in a for a in doc["assumed"])
    assert any("no Name: line" in a for a in doc["assumed"])


def test_the_invalid_age_of_an_event_is_said_not_guessed(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path) -> None:
    _, doc = analyze(capsys, clusters_dir, "events-bird-wrapped.txt")
    assert any("<invalid>" in a for a in doc["assumed"])


def test_any_mix_of_inputs_is_judged_together(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path) -> None:
    rc, doc = analyze(capsys, clusters_dir, "get-pods-crashloop.txt",
                      "describe-completed-exit0.txt", "events.json")
    assert (rc, doc["verdict"], doc["subtype"]) == (1, "restarts", "killed-exit-0")
    assert {f["format"] for f in doc["inputs"]} == {"text", "JSON"}


def test_max_restarts_raises_the_snapshot_threshold(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path) -> None:
    rc, doc = analyze(capsys, clusters_dir, "describe-unknown-255.txt",
                      extra=("--max-restarts", "5"))
    assert (rc, doc["verdict"]) == (0, "stable")
    assert doc["thresholds"]["min_restarts"] == 6


def test_a_young_pod_not_ready_yet_is_inconclusive_with_exit_three(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path, tmp_path: Path) -> None:
    row = tmp_path / "young.txt"
    row.write_text("calico-node-x   0/1     Running   0          40s\n")
    rc = main(["analyze", "--clusters-dir", str(clusters_dir), str(row)])
    out = capsys.readouterr().out
    assert rc == 3 and "verdict: unknown (not-ready-yet)" in out
    assert "40s old at most" in out


def test_text_output_names_the_verdict_signatures_variants_and_repros(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path) -> None:
    rc = main(["analyze", "--clusters-dir", str(clusters_dir), "--observed-dir", str(OBSERVED),
               str(FIXTURES / "describe-completed-exit0.txt")])
    out = capsys.readouterr().out
    assert rc == 1
    assert out.startswith("verdict: restarts (killed-exit-0)\n")
    assert "runsvdir exits 0 on SIGTERM" in out
    assert "variants observed like this:\n" in out
    assert ("  - systemd-cgroup-off: restarts (killed-exit-0) on node tier, cgroup v2, "
            "containerd 1.6.20, 1.7.24, 2.1.9 [v2-node-table]") in out
    assert "calico-9524 (open)" in out


def test_stdin_is_read_when_the_file_is_a_dash(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    data = (FIXTURES / "get-pods-crashloop.txt").read_bytes()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    rc = main(["analyze", "--clusters-dir", str(clusters_dir), "-"])
    assert rc == 1 and "crashloop-backoff" in capsys.readouterr().out


def test_an_observation_log_is_judged_as_a_watch_not_a_snapshot(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path, tmp_path: Path) -> None:
    lines = [{"t": 0.0, "source": "pod", "app": "calico-node", "pod": "calico-node-a",
              "container": "calico-node", "restart_count": 4, "ready": True,
              "state": "running"},
             {"t": 30.0, "source": "pod", "app": "calico-node", "pod": "calico-node-a",
              "container": "calico-node", "restart_count": 4, "ready": True,
              "state": "running"}]
    log = tmp_path / "observations.jsonl"
    log.write_text("".join(json.dumps(x) + "\n" for x in lines))
    rc = main(["analyze", "--format", "json", "--clusters-dir", str(clusters_dir),
               "--ready-grace", "10s", str(log)])
    doc = json.loads(capsys.readouterr().out)
    assert (rc, doc["verdict"], doc["snapshot"]) == (0, "stable", False)


SCHEMA = Path(__file__).resolve().parents[2] / "reports" / "schema" / "analyze.schema.json"


def test_every_json_output_validates_against_the_schema_and_the_schema_bites(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path) -> None:
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for fixture in sorted(p.name for p in FIXTURES.iterdir()):
        _, doc = analyze(capsys, clusters_dir, fixture)
        errors = [e.message for e in validator.iter_errors(doc)]
        assert errors == [], (fixture, errors)
    doc["verdict"] = "exploded"
    assert not validator.is_valid(doc)


def test_kubectl_json_or_yaml_pasted_with_its_command_and_fences_still_reads(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path, tmp_path: Path) -> None:
    paste = tmp_path / "paste.md"
    paste.write_text("$ kubectl -n kube-system get pod calico-node-kq9zt -o yaml\n```yaml\n"
                     + (FIXTURES / "pod-stable.yaml").read_text() + "```\n")
    rc = main(["analyze", "--format", "json", "--clusters-dir", str(clusters_dir), str(paste)])
    doc = json.loads(capsys.readouterr().out)
    assert (rc, doc["verdict"], doc["inputs"][0]["format"]) == (0, "stable", "YAML")


@pytest.mark.parametrize("fixture", ["calico-9524-report.txt", "describe-completed-exit0.txt"])
def test_the_text_report_matches_its_golden_file(
        capsys: pytest.CaptureFixture[str], clusters_dir: Path, fixture: str,
        monkeypatch: pytest.MonkeyPatch, update_goldens: bool) -> None:
    from golden import check_golden

    monkeypatch.chdir(FIXTURES)
    main(["analyze", "--clusters-dir", str(clusters_dir), "--observed-dir", str(OBSERVED), fixture])
    check_golden(f"analyze/{fixture.removesuffix('.txt')}.txt", capsys.readouterr().out,
                 update_goldens)
