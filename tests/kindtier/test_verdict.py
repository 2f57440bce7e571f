"""The verdict is a pure function of the observation log."""

from __future__ import annotations

import pytest

from calico_conformance.model import Outcome, Verdict
from calico_conformance.observe import Observation, cluster_failed, infra
from calico_conformance.tracker import Thresholds, Tracker
from calico_conformance.verdict import KILL_NOTE, SANDBOX_NOTE, judge, outcome

from .scripted import event, pod

BIRD = ("Readiness probe failed: calico/node is not ready: BIRD is not ready: Error querying "
        "BIRD: unable to connect to BIRDv4 socket")
TH = Thresholds(ready_grace_s=60)



def can_stop_early(obs: list[Observation], th: Thresholds | None = None) -> bool:
    """The soak's question, asked of a whole log at once."""
    return Tracker().feed(obs).can_stop_early(th or Thresholds())

def test_pods_that_become_ready_and_stay_ready_are_stable() -> None:
    log = [pod(0, ready=False), pod(5, ready=True), pod(5, "calico-node-b", ready=True)]
    verdict, subtype, ev = judge(log, TH, watched_s=600)
    assert (verdict, subtype) == (Verdict.STABLE, "")
    assert ev.restarts == 0 and len(ev.pods) == 2


def test_exit_zero_completed_restarts_are_labelled_as_kills_with_their_interval() -> None:
    log = [pod(0, ready=True)]
    for i, t in enumerate((20.0, 40.0, 60.0), start=1):
        log.append(event(t - 1, "Killing", "Container calico-node failed liveness probe"))
        log.append(pod(t, restarts=i, ready=False, last_reason="Completed", last_exit=0))
    verdict, subtype, ev = judge(log, TH, watched_s=90)
    assert (verdict, subtype) == (Verdict.RESTARTS, "killed-exit-0")
    assert ev.restart_times_s == (20.0, 40.0, 60.0)
    assert ev.restart_interval_s == pytest.approx(20.0)
    assert ev.exit_codes == (0,) and KILL_NOTE in ev.notes
    assert ev.pods[0].restarts_delta == 3 and ev.pods[0].last_reason == "Completed"


def test_restart_counts_are_measured_from_the_first_observation_not_from_zero() -> None:
    log = [pod(0, restarts=4, ready=True), pod(30, restarts=4, ready=True)]
    assert judge(log, TH, watched_s=600)[0] is Verdict.STABLE


def test_error_exits_in_crashloopbackoff_are_a_crash_loop() -> None:
    log = [pod(0, ready=False), pod(3, restarts=1, ready=False, last_reason="Error", last_exit=1),
           pod(4, restarts=1, ready=False, state="waiting", reason="CrashLoopBackOff",
               last_reason="Error", last_exit=1)]
    verdict, subtype, ev = judge(log, TH)
    assert (verdict, subtype) == (Verdict.RESTARTS, "crashloop-backoff")
    assert ev.exit_codes == (1,)


def test_oom_kills_win_over_other_restart_reasons() -> None:
    log = [pod(0), pod(9, restarts=1, last_reason="OOMKilled", last_exit=137)]
    assert judge(log, TH)[1] == "oom-killed"


def test_running_but_never_ready_quotes_the_bird_probe_message() -> None:
    log = [pod(0, ready=False), event(10, "Unhealthy", BIRD), pod(20, ready=False)]
    verdict, subtype, ev = judge(log, TH, watched_s=120)
    assert (verdict, subtype) == (Verdict.NEVER_READY, "bird")
    assert "BIRD is not ready" in ev.probe_message


def test_not_ready_within_the_grace_period_is_not_yet_a_verdict() -> None:
    log = [pod(0, ready=False)]
    assert judge(log, TH, watched_s=30)[0] is Verdict.UNKNOWN


def test_readiness_lost_and_regained_without_restarts_is_flapping() -> None:
    log = [pod(0, ready=True), pod(10, ready=False), pod(20, ready=True)]
    verdict, _, ev = judge(log, TH, watched_s=600)
    assert verdict is Verdict.FLAPPING and ev.first_failure_s == 10


def test_sandbox_creation_failures_mean_not_started() -> None:
    msg = 'failed to create shim task: expected cgroupsPath to be of format "slice:prefix:name"'
    log = [pod(0, ready=False, state="waiting", reason="ContainerCreating"),
           event(2, "FailedCreatePodSandBox", msg)]
    verdict, subtype, ev = judge(log, TH, watched_s=600)
    assert (verdict, subtype) == (Verdict.NOT_STARTED, "FailedCreatePodSandBox")
    assert "cgroupsPath" in ev.error


def test_sandbox_changed_events_point_to_the_cgroup_driver() -> None:
    changed = "Pod sandbox changed, it will be killed and re-created."
    log = [pod(0), event(5, "SandboxChanged", changed),
           pod(6, restarts=1, last_reason="Completed", last_exit=0)]
    assert SANDBOX_NOTE in judge(log, TH)[2].notes


def test_a_failed_kind_create_is_cluster_fails_with_kinds_error() -> None:
    log = [cluster_failed(0, "", "ERROR: failed to create cluster: failed to init node")]
    verdict, _, ev = judge(log, TH)
    assert verdict is Verdict.CLUSTER_FAILS and "failed to init node" in ev.error


def test_infrastructure_trouble_without_pods_is_unknown_not_a_config_property() -> None:
    log = [infra(3, "", "KubeApiError: list pods: connection refused")]
    verdict, subtype, ev = judge(log, TH)
    assert (verdict, subtype) == (Verdict.UNKNOWN, "infrastructure")
    assert "connection refused" in ev.error


def test_two_restarts_are_enough_to_stop_early_but_one_is_not() -> None:
    one = [pod(0), pod(5, restarts=1)]
    assert not can_stop_early(one)
    assert can_stop_early([*one, pod(9, restarts=2)])


@pytest.mark.parametrize(("expected", "verdict", "want"), [
    ("stable", Verdict.STABLE, Outcome.PASS),
    ("stable", Verdict.RESTARTS, Outcome.FAIL),
    ("restarts", Verdict.RESTARTS, Outcome.XFAIL),
    ("restarts", Verdict.STABLE, Outcome.XPASS),
    ("restarts", Verdict.NEVER_READY, Outcome.FAIL),
    ("", Verdict.RESTARTS, Outcome.OBSERVED),
    ("stable", Verdict.UNKNOWN, Outcome.UNKNOWN),
])
def test_outcome_judges_the_verdict_against_the_expectation(
        expected: str, verdict: Verdict, want: Outcome) -> None:
    assert outcome(expected, verdict) is want


def test_observations_of_other_apps_do_not_count_as_calico_node_restarts() -> None:
    other = Observation(t=5, source="pod", app="calico-kube-controllers", pod="kc",
                        container="calico-kube-controllers", restart_count=3, ready=True,
                        state="running")
    log = [pod(0), Observation(t=1, source="pod", app="calico-kube-controllers", pod="kc",
                               container="calico-kube-controllers", restart_count=0, ready=True,
                               state="running"), other]
    assert judge(log, TH, watched_s=600)[0] is Verdict.STABLE


def test_a_watch_lost_mid_soak_is_unknown_even_when_every_pod_looked_ready() -> None:
    log = [pod(0, ready=True), infra(10, "", "KubeApiError: watch pods: connection refused")]
    verdict, subtype, ev = judge(log, TH, watched_s=600)
    assert (verdict, subtype) == (Verdict.UNKNOWN, "watch-lost")
    assert "connection refused" in ev.error


def test_restarts_seen_before_the_watch_was_lost_still_stand() -> None:
    log = [pod(0), pod(5, restarts=1, last_reason="Completed", last_exit=0),
           infra(10, "", "KubeApiError: watch pods: connection refused")]
    assert judge(log, TH, watched_s=600)[0] is Verdict.RESTARTS


def test_a_slow_image_pull_within_the_grace_is_not_yet_not_started() -> None:
    log = [pod(0, ready=False, state="waiting", reason="ContainerCreating")]
    assert judge(log, TH, watched_s=30)[0] is Verdict.UNKNOWN
    assert judge(log, TH, watched_s=120)[:2] == (Verdict.NOT_STARTED, "ContainerCreating")


def test_one_node_that_cannot_create_its_sandbox_makes_the_cell_not_started() -> None:
    msg = "failed to create pod sandbox"
    log = [pod(0, "calico-node-a", ready=True),
           pod(0, "calico-node-b", ready=False, state="waiting", reason="ContainerCreating"),
           event(2, "FailedCreatePodSandBox", msg, name="calico-node-b")]
    verdict, subtype, ev = judge(log, TH, watched_s=600)
    assert (verdict, subtype) == (Verdict.NOT_STARTED, "FailedCreatePodSandBox")
    assert ev.error == msg


def test_a_transient_mount_failure_while_the_pod_starts_is_not_yet_not_started() -> None:
    log = [pod(0, ready=False, state="waiting", reason="ContainerCreating")]
    log += [event(t, "FailedMount", 'object "kube-system"/"kube-root-ca.crt" not registered')
            for t in (1.0, 2.0, 3.0)]
    assert judge(log, TH, watched_s=30)[0] is Verdict.UNKNOWN
    assert not can_stop_early(log, TH)


def test_sandbox_failures_repeated_over_a_minute_stop_the_soak_early() -> None:
    log = [pod(0, ready=False, state="waiting", reason="ContainerCreating")]
    log += [event(t, "FailedCreatePodSandBox", "failed to create pod sandbox")
            for t in (1.0, 30.0, 61.0)]
    assert can_stop_early(log, TH)


def test_a_failure_seen_before_the_watch_was_lost_still_stands() -> None:
    never = [pod(0, ready=False), event(10, "Unhealthy", BIRD), infra(400, "", "watch lost")]
    assert judge(never, TH, watched_s=600)[0] is Verdict.NEVER_READY
    flap = [pod(0, ready=True), pod(10, ready=False), infra(20, "", "watch lost")]
    assert judge(flap, TH, watched_s=600)[0] is Verdict.FLAPPING
