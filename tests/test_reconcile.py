"""One answer per config: observation beats prediction, the matching cgroup version wins,
and what no tier could judge is never a pass."""

from __future__ import annotations

from calico_conformance.model import Axes, CellResult, Finding, Tier, Verdict
from calico_conformance.reconcile import BAD, NOT_JUDGED, OK, RISKY, answer

CC001 = Finding("CC001", "error", "SystemdCgroup false", predicted="restarts",
                fix="Set SystemdCgroup = true.")


def _node(verdict: Verdict, cgroup: str, not_tested: str = "") -> CellResult:
    point = "node-trixie" + ("-vm" if cgroup == "v2" else "")
    axes = Axes("-", "mine", point, containerd="1.7.24", node_image="trixie",
                tier=Tier.NODE, backend="vm" if cgroup == "v2" else "docker", cgroup=cgroup)
    return CellResult("node-mine-trixie", axes, "", verdict, not_tested=not_tested)


def test_with_nothing_observed_lints_prediction_decides_and_says_so() -> None:
    a = answer("mine", "1.7.24", "v2", [CC001], [])
    assert (a.says, a.fix) == (BAD, "Set SystemdCgroup = true.")
    assert a.decided_by.startswith("lint: lint's prediction")


def test_an_observation_beats_a_prediction_and_the_answer_says_lint_lost() -> None:
    a = answer("mine", "1.7.24", "v2", [], [_node(Verdict.SANDBOX_FAILS, "v2")])
    assert a.says == BAD and "lint said ok, the observation wins" in a.decided_by


def test_the_matching_cgroup_version_wins_and_a_misplacement_is_bad_only_on_v2() -> None:
    both = [_node(Verdict.MISPLACED, "v1"), _node(Verdict.RESTARTS, "v2")]
    v2 = answer("mine", "1.7.24", "v2", [CC001], both)
    assert v2.says == BAD and "cgroup v2" in v2.decided_by
    v1 = answer("mine", "1.7.24", "v1", [CC001], [_node(Verdict.MISPLACED, "v1")])
    assert v1.says == RISKY and "lint said bad, the observation wins" in v1.decided_by
    only_v1 = answer("mine", "1.7.24", "v2", [CC001], [_node(Verdict.MISPLACED, "v1")])
    assert only_v1.says == BAD and "another cgroup version" in only_v1.decided_by


def test_our_trouble_and_untested_cells_are_never_a_pass() -> None:
    cells = [_node(Verdict.UNKNOWN, "v1"), _node(Verdict.STABLE, "v1", "kind skips it")]
    assert answer("mine", "1.7.24", "v1", [], cells).says == NOT_JUDGED
    assert answer("mine", "1.7.24", "v1", [], [_node(Verdict.STABLE, "v1")]).says == OK
