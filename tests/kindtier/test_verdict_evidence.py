"""Init-container re-runs, the kill signatures and snapshot thresholds in the verdict."""

from __future__ import annotations

import dataclasses

from calico_conformance.model import Verdict
from calico_conformance.observe import Observation, from_pod
from calico_conformance.tracker import SNAPSHOT, Thresholds
from calico_conformance.verdict import judge
from calico_conformance.verdict_notes import (
    INIT_NOTE,
    KILL_NOTE,
    SIGTERM_IGNORED_NOTE,
    UNKNOWN_255_NOTE,
)

from .scripted import event, pod

TH = Thresholds(ready_grace_s=60)


def init(t: float, restarts: int, name: str = "install-cni") -> Observation:
    return Observation(t=t, source="pod", app="calico-node", pod="calico-node-a",
                       container=name, restart_count=restarts, init=True, state="terminated",
                       reason="Completed", exit_code=0, ready=True)


def test_the_kill_note_says_sigterm_and_cites_runsvdir_not_sigkill() -> None:
    assert "exits 0 on SIGTERM" in KILL_NOTE and "runsvdir(8)" in KILL_NOTE
    assert "SIGKILL" not in KILL_NOTE
    log = [pod(0), pod(20, restarts=1, last_reason="Completed", last_exit=0)]
    assert KILL_NOTE in judge(log, TH, watched_s=90)[2].notes


def test_init_containers_running_again_are_a_sandbox_re_creation_even_without_restarts() -> None:
    log = [pod(0), init(0, 0), pod(30), init(30, 1)]
    verdict, subtype, ev = judge(log, TH, watched_s=600)
    assert (verdict, subtype) == (Verdict.RESTARTS, "sandbox-recreated")
    assert ev.notes == (INIT_NOTE.format(detail="install-cni x1 on calico-node-a"),)


def test_init_re_runs_seen_before_the_watch_do_not_count_on_a_watch() -> None:
    log = [pod(0), init(0, 7), pod(30), init(30, 7)]
    assert judge(log, TH, watched_s=600)[0] is Verdict.STABLE


def test_the_pod_api_objects_init_container_statuses_become_observations() -> None:
    obj = {"metadata": {"name": "calico-node-a", "labels": {"k8s-app": "calico-node"}},
           "spec": {"nodeName": "n1"},
           "status": {"containerStatuses": [{"name": "calico-node", "restartCount": 0,
                                             "ready": True, "state": {"running": {}}}],
                      "initContainerStatuses": [{"name": "install-cni", "restartCount": 7,
                                                 "state": {"terminated": {"exitCode": 0}}}]}}
    obs = from_pod(1.0, "", obj)
    assert [(o.container, o.init, o.restart_count) for o in obs] == [
        ("calico-node", False, 0), ("install-cni", True, 7)]


def test_exit_137_with_error_after_a_stop_is_its_own_signature() -> None:
    log = [pod(0), pod(20, restarts=1, last_reason="Error", last_exit=137)]
    verdict, subtype, ev = judge(log, TH, watched_s=90)
    assert (verdict, subtype) == (Verdict.RESTARTS, "killed-exit-137")
    assert SIGTERM_IGNORED_NOTE in ev.notes and KILL_NOTE not in ev.notes


def test_unknown_exit_255_is_the_runtime_restarting_not_a_crash() -> None:
    log = [pod(0), pod(20, restarts=1, last_reason="Unknown", last_exit=255)]
    verdict, subtype, ev = judge(log, TH, watched_s=90)
    assert (verdict, subtype) == (Verdict.RESTARTS, "runtime-restarted")
    assert UNKNOWN_255_NOTE in ev.notes


def test_a_snapshot_counts_restarts_from_zero_and_draws_no_times() -> None:
    log = [pod(600, restarts=3, last_reason="Completed", last_exit=0)]
    verdict, subtype, ev = judge(log, SNAPSHOT, watched_s=600)
    assert (verdict, subtype, ev.restarts) == (Verdict.RESTARTS, "killed-exit-0", 3)
    assert ev.restart_times_s == () and ev.restart_interval_s is None
    assert judge(log, TH, watched_s=600)[0] is Verdict.STABLE, "a watch counts from its start"


def test_one_bare_restart_in_a_snapshot_is_below_the_threshold_unless_it_shows_why() -> None:
    """A count of one may be a reboot weeks ago; its termination shown (the kubelet fills
    Last State only after a restart), or a back-off, is the restart the paste is about."""
    bare = [pod(600, restarts=1)]
    assert judge(bare, SNAPSHOT, watched_s=600)[0] is Verdict.STABLE
    shown = [pod(600, restarts=1, last_reason="Error", last_exit=1)]
    assert judge(shown, SNAPSHOT, watched_s=600)[:2] == (Verdict.RESTARTS, "error-exit")
    tolerated = dataclasses.replace(SNAPSHOT, shown_termination_counts=False)
    assert judge(shown, tolerated, watched_s=600)[0] is Verdict.STABLE
    looping = [pod(600, restarts=1, state="waiting", reason="CrashLoopBackOff", ready=False,
                   last_reason="Error", last_exit=1)]
    assert judge(looping, SNAPSHOT, watched_s=600)[:2] == (Verdict.RESTARTS,
                                                           "crashloop-backoff")


def test_events_alone_show_sandbox_re_creation_and_never_ready() -> None:
    sandbox = [event(0, "SandboxChanged", "Pod sandbox changed, it will be killed and "
                                          "re-created.")]
    assert judge(sandbox, SNAPSHOT)[:2] == (Verdict.RESTARTS, "sandbox-recreated")
    bird = [Observation(t=0, source="event", app="calico-node", pod="calico-node-a",
                        event_reason="Unhealthy", count=40,
                        message="Readiness probe failed: calico/node is not ready: BIRD is "
                                "not\nready: BGP not established with 10.0.0.2")]
    assert judge(bird, SNAPSHOT)[:2] == (Verdict.NEVER_READY, "bird")


def test_a_huge_restart_count_is_counted_not_looped_over() -> None:
    log = [pod(0), pod(10, restarts=10**12, last_reason="Error", last_exit=1)]
    verdict, _, ev = judge(log, TH, watched_s=60)
    assert verdict is Verdict.RESTARTS and ev.restarts == 10**12
    assert len(ev.restart_times_s) == 1000
