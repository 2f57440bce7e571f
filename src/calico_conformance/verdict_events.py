"""The event side of the verdict: which kubelet events count, and what events alone show.

Pure functions over the observation log, used by :mod:`calico_conformance.verdict`
(the one verdict engine); split out only to keep each module one screenful.
"""

from __future__ import annotations

from collections import Counter

from .calico import CALICO_NODE
from .model import EventSummary, Verdict
from .observe import Observation

NOT_STARTED_EVENTS = {"FailedCreatePodSandBox", "FailedCreatePodContainer", "Failed",
                      "ErrImagePull", "ImagePullBackOff", "InspectFailed", "FailedMount"}
KEY_EVENTS = {"Unhealthy", "Killing", "BackOff", "SandboxChanged", "FailedCreatePodSandBox",
              "OOMKilling", "Failed", "ErrImagePull", "ImagePullBackOff", "FailedMount"}


def is_fail_event(o: Observation) -> bool:
    """A kubelet event saying calico-node's sandbox, container or image could not be made."""
    return o.source == "event" and o.event_reason in NOT_STARTED_EVENTS and o.app == CALICO_NODE


def fail_events_of(obs: list[Observation]) -> list[Observation]:
    return [o for o in obs if is_fail_event(o)]


def event_summaries(obs: list[Observation]) -> tuple[EventSummary, ...]:
    """Key events merged by (reason, message), most frequent first. One event object is
    seen once per update on a watch, or once with its count in a paste (``x24 over 23m``):
    it counts as the larger of the two."""
    seen: Counter[tuple[str, str, str]] = Counter()
    most: dict[tuple[str, str, str], int] = {}
    for o in obs:
        if o.source == "event" and o.event_reason in KEY_EVENTS and o.app == CALICO_NODE:
            key = (o.event_reason, o.message, o.pod)
            seen[key] += 1
            most[key] = max(most.get(key, 0), o.count)
    counts = {k: max(n, most[k]) for k, n in seen.items()}
    merged: Counter[tuple[str, str]] = Counter()
    objects: dict[tuple[str, str], str] = {}
    for (reason, message, pod), n in counts.items():
        merged[(reason, message)] += n
        objects.setdefault((reason, message), pod)
    return tuple(EventSummary(r, m, n, objects[(r, m)]) for (r, m), n in merged.most_common(8))


def probe_message(obs: list[Observation]) -> str:
    for o in reversed(obs):
        if o.source == "event" and o.event_reason == "Unhealthy" and "Readiness" in o.message:
            return o.message
    for o in reversed(obs):
        if o.source == "event" and o.event_reason == "Unhealthy":
            return o.message
    return ""


def event_count(obs: list[Observation], reason: str, text: str = "") -> int:
    return sum(max(o.count, 1) for o in obs if o.source == "event" and o.app == CALICO_NODE
               and o.event_reason == reason and text in o.message)


def events_only(obs: list[Observation], min_reruns: int, probe_failures: int,
                min_restarts: int = 2) -> tuple[Verdict, str] | None:
    """Events without any pod status (a pasted event list): what the events alone show.

    Failures to create the sandbox, pull an image or mount with nothing ever started are
    not-started; SandboxChanged is a sandbox re-creation (every container of the pod is
    killed and re-created); a "Back-off restarting failed container" or a Killing event is a
    restart, and so is a container Started more times than the tolerance; repeated
    readiness failures with no Ready status seen are never-ready.
    """
    started = max((o.count for o in obs if o.source == "event" and o.app == CALICO_NODE
                   and o.event_reason == "Started"), default=0)
    fails = fail_events_of(obs)
    if fails and not started and not event_count(obs, "Killing") and not \
            event_count(obs, "BackOff", "restarting failed container"):
        # The sandbox or an image never came: the kubelet re-creates a sandbox it failed to
        # set up (SandboxChanged follows FailedCreatePodSandBox), but nothing ever started.
        return Verdict.NOT_STARTED, fails[-1].event_reason
    if event_count(obs, "SandboxChanged") >= min_reruns:
        return Verdict.RESTARTS, "sandbox-recreated"
    if event_count(obs, "BackOff", "restarting failed container"):
        return Verdict.RESTARTS, "crashloop-backoff"
    if event_count(obs, "Killing"):
        return Verdict.RESTARTS, "killed"
    if started - 1 >= min_restarts:
        # One "Started container X" event aggregated xN: the container started N times.
        return Verdict.RESTARTS, "cause-not-shown"
    if event_count(obs, "Unhealthy", "Readiness") >= probe_failures:
        return (Verdict.NEVER_READY,
                "bird" if "BIRD is not ready" in " ".join(probe_message(obs).split())
                else "probe")
    return None


def readiness_failures_after_start(obs: list[Observation], period_s: float,
                                   grace_s: float) -> int:
    """Readiness failures of one event series longer than start-up takes: N failures span at
    least N-1 probe periods; start-up failures end within the ready grace."""
    return max((o.count for o in obs if o.source == "event" and o.app == CALICO_NODE
                and o.event_reason == "Unhealthy" and "Readiness" in o.message
                and (o.count - 1) * period_s > grace_s), default=0)
