"""What the reader of a verdict does next, and whose restarts the count is made of.

A total ("restarts: 13") hides that it was 7 + 6 over two pods, or an init container's
re-runs; :func:`restarts_by_container` gives each pod's containers their own count.
:func:`next_steps` ends the answer with commands, chosen by verdict and signature, that
either fix the cause the signature was observed with or fetch what the paste lacks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Verdict
from ..observe import Observation

EVENTS = "kubectl get events -A --field-selector involvedObject.name={pod}"
LOGS = "kubectl logs -n <namespace> {pod} {container} --previous"
DESCRIBE = "kubectl describe pod -n <namespace> {pod}"
CHECK = "calico-conformance check /etc/containerd/config.toml"


@dataclass
class ContainerRestarts:
    pod: str
    container: str  # "(all, from the table)" where a table gives the pod's total
    init: bool
    restarts: int = 0
    counted: bool = True  # False: "at least 1", the count was cut off


def restarts_by_container(obs: tuple[Observation, ...]) -> list[ContainerRestarts]:
    """Each pod's containers with their restart counts (the highest seen), init containers
    marked; a container whose count the paste cut off but whose previous termination it
    shows is "at least 1"."""
    seen: dict[tuple[str, str], ContainerRestarts] = {}
    for o in obs:
        if o.source != "pod" or not o.pod:
            continue
        row = seen.setdefault((o.pod, o.container), ContainerRestarts(
            o.pod, o.container or "(all, from the table)", o.init))
        if o.restart_count is not None:
            row.restarts = max(row.restarts, o.restart_count)
        elif o.last_reason and row.restarts == 0:
            row.restarts, row.counted = 1, False
    return [r for r in seen.values() if r.restarts]


def next_steps(verdict: Verdict, subtype: str, variants: list[str], pods: list[str],
               containers: list[str], repros: list[str]) -> list[str]:
    """Commands for this verdict, with the pasted pod's name where the paste gave one.
    ``variants`` are the stored observations' variants that behaved like the paste: when
    there are any, the node's containerd config is a suspect worth checking first."""
    named = [p for p in pods if p != "calico-node"]  # the app's name stands in for none
    pod = named[0] if named else "<pod>"
    container = f"-c {containers[0]}" if containers else "--all-containers"
    if verdict is Verdict.STABLE:
        return []
    if verdict is Verdict.UNKNOWN:
        return [f"paste more: {DESCRIBE.format(pod=pod)} (with its Events), once the pod is "
                "older than the readiness grace"]
    steps = []
    if variants:
        steps.append(f"on the pod's node: {CHECK} (containerd configs like "
                     f"{', '.join(variants[:3])} were observed to do this)")
    if verdict is Verdict.RESTARTS and subtype in ("error-exit", "crashloop-backoff",
                                                   "oom-killed"):
        steps.append(f"why it exited: {LOGS.format(pod=pod, container=container)}")
    if verdict is Verdict.RESTARTS and subtype == "cause-not-shown":
        steps.append(f"how it ended (Last State, exit code): {DESCRIBE.format(pod=pod)}")
    if verdict is Verdict.NEVER_READY:
        steps.append(f"what the readiness probe says: kubectl logs -n <namespace> {pod} "
                     f"{container}")
    steps.append(f"what the kubelet did: {EVENTS.format(pod=pod)}")
    steps += [f"reproduce it: pytest --repro {r}" for r in repros]
    return steps
