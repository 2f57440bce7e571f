"""What the verdict says about a failure, worded once, with the sources.

The verdict engine (:mod:`calico_conformance.verdict`) attaches these notes to its
evidence; ``analyze`` signatures reuse them, so the matrix and a pasted snapshot
explain the same symptom in the same words.
"""

from __future__ import annotations

# runit's runsvdir(8), SIGNALS: "If runsvdir receives a TERM signal, it exits with 0
# immediately" (http://smarden.org/runit/runsvdir.8.html). calico/node runs runsvdir as
# PID 1, and calico.yaml sets terminationGracePeriodSeconds: 0 on the calico-node
# DaemonSet (v3.26.4 and v3.28.2 manifests). The kubelet's killContainer never stops with
# less than minimumGracePeriodInSeconds = 2 and the runtime's StopContainer sends SIGTERM
# first (kubernetes/kubernetes pkg/kubelet/kuberuntime/kuberuntime_container.go), so a
# stopped calico-node ends at once with exit 0, which containerd reports as "Completed"
# (projectcalico/calico#9524, #5157, #2822). A SIGKILLed process would end with 137.
KILL_NOTE = ("exit 0 / Completed is a kill, not a clean exit: calico-node runs runsvdir as "
             "PID 1, which exits 0 on SIGTERM (runsvdir(8)); the kubelet stops it with SIGTERM "
             "(StopContainer, 2 s minimum grace; calico.yaml sets "
             "terminationGracePeriodSeconds: 0), usually after a liveness-probe failure or a "
             "sandbox re-creation (projectcalico/calico#9524)")
# A 137/Error after a stop is SIGKILL at the end of the grace period: the SIGTERM that
# runsvdir would have honoured did not end the container (kuberuntime_container.go).
SIGTERM_IGNORED_NOTE = ("exit 137 / Error is SIGKILL: the container outlived the SIGTERM "
                        "of a stop and was killed when the grace period ran out; runsvdir "
                        "exits 0 on SIGTERM, so PID 1 here is not runsvdir or did not get "
                        "the signal (a different signature from Completed/exit 0)")
# A sandbox re-created under a running pod is the classic cgroup-driver mismatch symptom
# (kubernetes/kubernetes#110177, containerd/containerd#7276).
SANDBOX_NOTE = ("SandboxChanged events: the pod sandbox was re-created, which points to a "
                "cgroup driver mismatch between containerd (SystemdCgroup) and the kubelet")
# The kubelet runs init containers again only when it creates a new pod sandbox
# (kuberuntime_manager.go computePodActions: a sandbox change restarts the init
# sequence); projectcalico/calico#9524's describe shows install-cni with Restart Count 7.
INIT_NOTE = ("init containers re-ran ({detail}): init containers run again only when the "
             "pod sandbox is re-created, so this is strong evidence of sandbox re-creation "
             "(cgroup driver mismatch, or containerd/the node restarting under the pod)")
# Reason Unknown with exit 255: the kubelet found the container gone after a containerd or
# node restart (projectcalico/calico#9638 shows it after a reboot).
UNKNOWN_255_NOTE = ("Last State Unknown / exit 255 means the node or containerd restarted "
                    "under the pod, not that calico-node crashed")
SNAPSHOT_NOTE = ("judged from a snapshot, not a watch: restart counts cover the pod's whole "
                 "life and carry no times; readiness is what it was at the moment of the "
                 "paste, not its history")

# A paste cut above a container's Restart Count line, below its Last State.
UNCOUNTED_NOTE = ("{pod}: its Restart Count is not in the paste, but its previous termination "
                  "is ({reason}, exit {code}): the kubelet fills Last State only after a "
                  "restart, so it restarted at least once")
INIT_BACKOFF_NOTE = ("init container in CrashLoopBackOff: {containers}; the pod stays in Init "
                     "(Pending) until it succeeds, so calico-node itself never starts")
