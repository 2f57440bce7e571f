"""Whose pods a paste is about, when it is not calico-node's.

People paste the same failures for every CNI DaemonSet (canal, flannel, cilium, weave,
aws-node...) and for whatever else a node runs. The verdict engine judges calico-node's
pods; a paste with none is judged the same way for the pod family in the most trouble
(restarts, back-off, a container not running, not Ready), and the answer says so. A
family is a pod name without the suffix its controller adds: DaemonSet and Deployment
pods end in ``-<5 chars>`` (``-<hash>-<5 chars>`` for a Deployment's ReplicaSet),
StatefulSet pods in ``-<ordinal>`` (kubernetes/pkg/controller: ``names.SimpleNameGenerator``
appends 5 random characters to ``generateName``).
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict

from ..calico import CALICO_NODE
from ..observe import Observation

_SUFFIX = re.compile(r"(?:-[a-z0-9]{8,10})?-[a-z0-9]{5}$|-\d+$")
# Node agents of CNI plugins, by the DaemonSet names their manifests ship (Calico/Canal,
# flannel, Cilium, Weave Net, AWS VPC CNI, Antrea, kube-router, Azure NPM, OVN-Kubernetes,
# kindnet, Multus, Istio CNI, Kube-OVN): a paste that shows one is about it, before any
# other pod in the table that happens to be Pending.
NETWORK_AGENTS = re.compile(r"^(?:rke2-)?(?:canal|calico-node|kube-flannel(?:-ds)?(?:-\w+)?|"
                            r"flannel|cilium|weave-net|aws-node|antrea-agent|kube-router|"
                            r"azure-npm|azure-cns|ovnkube-node|ovs-node|kindnet|"
                            r"kube-multus-ds(?:-\w+)?|multus|istio-cni-node|kube-ovn-cni)$")
_TROUBLE = frozenset({"CrashLoopBackOff", "Error", "OOMKilled", "ContainerCannotRun",
                      "RunContainerError", "CreateContainerError", "CreateContainerConfigError",
                      "ImagePullBackOff", "ErrImagePull"})


def family(pod: str) -> str:
    return _SUFFIX.sub("", pod) or pod


def _trouble(o: Observation) -> int:
    score = (o.restart_count or 0) + (o.last_reason != "")
    score += 1000 if o.reason in _TROUBLE else 0
    score += 100 if o.state in ("waiting", "terminated") else 0
    return score + (0 if o.ready else 1)


def choose(obs: list[Observation]) -> tuple[list[Observation], str]:
    """``obs`` with the subject's pods, containers and events labelled as calico-node's,
    and a line saying whose they are ("" when the paste has calico-node pods). The subject
    is a network agent's family when the paste shows one, else the family in most trouble."""
    pods = [o for o in obs if o.source == "pod" and o.pod]
    if any(o.app == CALICO_NODE for o in obs if o.source == "pod"):
        return obs, ""
    # Without pod statuses, an event list: its objects, warnings counting as trouble.
    events = [o for o in obs if o.source == "event" and o.pod]
    if not pods and (not events or any(o.app == CALICO_NODE for o in events)):
        return obs, ""
    score: dict[str, int] = defaultdict(int)
    for o in pods:
        score[family(o.pod)] = max(score[family(o.pod)], _trouble(o))
    for o in events if not pods else []:
        score[family(o.pod)] += o.count if o.event_type == "Warning" or o.event_reason in (
            "SandboxChanged", "BackOff", "Killing") else 0
    agents = [f for f in score if NETWORK_AGENTS.match(f)]
    subject = max(agents or score, key=lambda f: score[f])  # first in the paste wins a tie
    mains = _main_containers([o for o in pods if family(o.pod) == subject])
    out = []
    for o in obs:
        if o.source == "pod" and o.pod and family(o.pod) == subject:
            container = (CALICO_NODE if not o.init and o.container == mains.get(o.pod, "")
                         else o.container)
            out.append(dataclasses.replace(o, app=CALICO_NODE, container=container))
        elif o.source == "event" and o.pod and family(o.pod) == subject:
            out.append(dataclasses.replace(o, app=CALICO_NODE))
        else:
            out.append(o)
    others = sorted(set(score) - {subject})
    return out, (f"no calico-node pod in the paste: judged {subject} pods the way calico-node's "
                 "are" + (f" (also pasted: "
                          f"{', '.join(others[:5])})" if others else ""))


def _main_containers(obs: list[Observation]) -> dict[str, str]:
    """Per pod, the regular container to judge: one named calico-node (a canal pod), else
    the one in the most trouble."""
    best: dict[str, tuple[int, str]] = {}
    for o in obs:
        if o.init:
            continue
        rank = (10**9 if o.container == CALICO_NODE else _trouble(o), o.container)
        if o.pod not in best or rank[0] > best[o.pod][0]:
            best[o.pod] = rank
    return {pod: name for pod, (_, name) in best.items()}
