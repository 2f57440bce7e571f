"""`analyze` on real pastes from public issue threads (tests/analyze/pastes/labels.toml).

Each paste was labelled by a person reading it as a maintainer would, before and apart from
what the tool says. The bar (issue 21): at least 40 pastes, at least 90% get their label,
and every miss is listed below with its reason. A listed miss that starts to pass fails too,
so the list stays true. README.md beside the pastes is the table of sources and labels.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from calico_conformance.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PASTES = Path(__file__).parent / "pastes"
OBSERVED = Path(__file__).resolve().parents[2] / "docs" / "observed"
LABELS: list[dict[str, str]] = tomllib.loads(
    (PASTES / "labels.toml").read_text(encoding="utf-8"))["paste"]

# Pastes whose label the tool does not reach, and why.
KNOWN_MISSES = {
    "a-multus-1283-pod-yaml-status-tail.txt":
        "a YAML fragment of a pod's status without kind or metadata: refused as unreadable "
        "(exit 2), where the label says unknown; neither claims anything about the pod",
    "b-opsnull-612-get-pods-calico-init-stuck.txt":
        "the table also shows calico-node pods with 1 and 2 restarts and no cause: the engine "
        "ranks restarts above a pod stuck in Init:0/3, which is what the thread is about",
    "b-k3shelm-112-describe-calico-node-pending.txt":
        "the failure event is in a separate block of the post, not in the paste; the paste "
        "alone shows a Pending pod of unknown age, so the tool says unknown (not-ready-yet)",
    "c-cilium-7958-readiness-events.txt":
        "readiness failures (x10) that stopped 19 minutes before the paste: the tool takes "
        "repeated readiness failures without a Ready status as never-ready; the label reads "
        "the stop as a sign the pod may have become Ready since",
}


def judge(capsys: pytest.CaptureFixture[str], name: str) -> tuple[str, str]:
    rc = main(["analyze", "--format", "json", "--observed-dir", str(OBSERVED),
               str(PASTES / name)])
    out, err = capsys.readouterr()
    if rc == 2:
        return "unreadable", err.strip()
    doc: dict[str, Any] = json.loads(out)
    return doc["verdict"], doc["subtype"]


def test_the_corpus_has_forty_labelled_real_pastes_none_from_the_calico_repository() -> None:
    assert len(LABELS) >= 40
    files = {p.name for p in PASTES.glob("*.txt")}
    assert files == {row["file"] for row in LABELS}
    for row in LABELS:
        assert row["source"].startswith("https://"), row["file"]
        assert "github.com/projectcalico/calico/" not in row["source"], row["file"]
        assert row["verdict"] in ("restarts", "not-started", "never-ready", "flapping",
                                  "stable", "unknown"), row["file"]
        assert row["why"], row["file"]


@pytest.mark.parametrize("row", LABELS, ids=[r["file"].removesuffix(".txt") for r in LABELS])
def test_each_paste_gets_its_label_or_is_a_listed_miss(
        capsys: pytest.CaptureFixture[str], row: dict[str, str]) -> None:
    verdict, detail = judge(capsys, row["file"])
    if row["file"] in KNOWN_MISSES:
        assert verdict != row["verdict"], (f"{row['file']} now gets its label: remove it "
                                           "from KNOWN_MISSES")
        return
    assert verdict == row["verdict"], f"{row['file']}: {verdict} ({detail}); label: {row['why']}"


def test_at_least_ninety_percent_of_the_pastes_get_their_label() -> None:
    assert len(KNOWN_MISSES) <= len(LABELS) // 10
    assert set(KNOWN_MISSES) <= {row["file"] for row in LABELS}


def test_every_fragment_class_of_the_issue_is_in_the_corpus() -> None:
    """Describe excerpts without a header, event rows alone, pods held in Init by a
    crash-looping init container: each judged from the corpus, not from our own pastes."""
    shapes = Counter(row["shape"] for row in LABELS if row["file"] not in KNOWN_MISSES)
    assert shapes["describe-fragment"] >= 3
    assert shapes["event-rows"] >= 3
    assert shapes["init-pending"] >= 2


def table() -> str:
    lines = ["| paste | source | shape | label | why |", "| --- | --- | --- | --- | --- |"]
    for row in LABELS:
        label = row["verdict"] + (f" ({row['subtype']})" if row.get("subtype") else "")
        miss = " **(miss: see the test)**" if row["file"] in KNOWN_MISSES else ""
        why = row["why"].replace("|", "\\|")
        lines.append(f"| `{row['file']}` | [{row['project']}]({row['source']}) | "
                     f"{row['shape']} | {label}{miss} | {why} |")
    return "\n".join(lines) + "\n"


def test_the_readme_table_lists_every_paste_with_its_source_and_label(
        update_goldens: bool) -> None:
    readme = PASTES / "README.md"
    head = readme.read_text(encoding="utf-8").split("<!-- table -->")[0]
    text = head + "<!-- table -->\n\n" + table()
    if update_goldens:
        readme.write_text(text, encoding="utf-8")
    assert readme.read_text(encoding="utf-8") == text, (
        "README.md is out of date: run `pytest tests --update-goldens`")
