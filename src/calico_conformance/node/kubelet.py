"""The emulated kubelet for one calico-node-like pod: create, sync, kill, re-create.

What is followed (kubernetes/kubernetes):
- pkg/kubelet/kubelet.go SyncPod: unless it is the pod's first sync (no container
  running yet), ``if !pcm.Exists(pod)`` the kubelet calls ``killPod`` and then
  ``pcm.EnsureExists(pod)``; the runtime's SyncPod then finds the sandbox gone.
- pkg/kubelet/kuberuntime/kuberuntime_container.go killContainer: grace period is the
  pod's terminationGracePeriodSeconds, preStop only when it is > 0, and never less than
  ``minimumGracePeriodInSeconds`` = 2 for StopContainer; killPodWithSyncResult stops every
  container, then every sandbox (StopPodSandbox).
- kuberuntime_manager.go computePodActions: a sandbox that is not ready is
  "SandboxChanged": a new sandbox (attempt + 1), every init container again, then the
  containers, each started with attempt = its restart count. A liveness Failure kills
  just that container ("failed liveness probe, will be restarted") and starts it again.
Only what systemd, containerd and runc really did drives a kill: the existence check
reads the node's cgroup filesystem (:meth:`NodeCgroups.missing`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..clock import Clock
from ..containerd.words import pull_trouble
from ..cri.client import ContainerStatus, CriClient
from ..cri.pods import kubelet_container, kubelet_pod
from ..errors import CriCallError, StepFailed
from ..observe import Kill
from .cgroups import NodeCgroups, PodCgroup
from .workload import WORKLOAD_CMD, WORKLOAD_REF

MIN_GRACE_S = 2  # kuberuntime_container.go minimumGracePeriodInSeconds
INIT_COMMAND = ["/bin/sh", "-c", "echo install-cni done"]
INIT_TIMEOUT_S = 20.0
CLEANUP_TIMEOUT_S = 15.0  # tear-down only; RemovePodSandbox force-stops what is left


@dataclass
class PodLog:
    kills: list[Kill] = field(default_factory=list)
    sandboxes: list[str] = field(default_factory=list)
    init_runs: int = 0
    restarts: int = 0
    events: list[str] = field(default_factory=list)


class PodWorker:
    def __init__(self, cri: CriClient, cgroups: NodeCgroups, clock: Clock, grace_s: int,
                 name: str = "calico-node") -> None:
        self.cri, self.cg, self.clock = cri, cgroups, clock
        self.grace = max(grace_s, MIN_GRACE_S)
        self.name = name
        self.pod = PodCgroup(cgroups.driver)
        self.log = PodLog()
        self.sandbox_id = ""
        self.sandbox_config: object = None
        self.cid = ""
        self.start_t = clock.monotonic()

    def status(self, cid: str) -> ContainerStatus:
        return self.cri.container_status(cid, verbose=True)

    def t(self) -> float:
        return round(self.clock.monotonic() - self.start_t, 2)

    def event(self, text: str) -> None:
        self.log.events.append(f"t={self.t():.1f}s {text}")

    # --- creation (SyncPod's runtime half) ------------------------------------------------------

    def create(self) -> None:
        """EnsureExists, then a sandbox, the init container, the main container."""
        self.cg.ensure(self.pod)
        attempt = len(self.log.sandboxes)
        self.sandbox_config = kubelet_pod(self.name, self.pod.uid, attempt, self.pod.parent,
                                          "/var/log/pods/cc")
        try:
            self.sandbox_id = self.cri.run_sandbox(self.sandbox_config)
        except CriCallError as exc:
            raise StepFailed("sandbox", exc.details,
                             explained=pull_trouble(exc.details)) from exc
        self.log.sandboxes.append(self.sandbox_id)
        self.event(f"sandbox {self.sandbox_id[:12]} (attempt {attempt}) running")
        self._run_init()
        self._start_main()

    def _run_init(self) -> None:
        try:
            init = self.cri.start(self.sandbox_id, self.sandbox_config, kubelet_container(
                "install-cni", len(self.log.sandboxes) - 1, WORKLOAD_REF, INIT_COMMAND))
        except CriCallError as exc:
            raise StepFailed("container", f"init container: {exc.details}") from exc
        deadline = self.clock.monotonic() + INIT_TIMEOUT_S
        while self.clock.monotonic() < deadline:
            st = self.status(init)
            if not st.running and st.state != "CONTAINER_CREATED":
                self.log.init_runs += 1
                self.event(f"init install-cni exited {st.exit_code} ({st.reason})")
                return
            self.clock.sleep(0.2)
        raise StepFailed("container", "init container did not finish in time")

    def _start_main(self) -> None:
        try:
            self.cid = self.cri.start(self.sandbox_id, self.sandbox_config, kubelet_container(
                self.name, self.log.restarts, WORKLOAD_REF, list(WORKLOAD_CMD)))
        except CriCallError as exc:
            raise StepFailed("container", exc.details) from exc
        self.event(f"{self.name} {self.cid[:12]} started (attempt {self.log.restarts})")

    # --- the periodic sync ----------------------------------------------------------------------

    def sync(self) -> Kill | None:
        """One SyncPod: the pod-cgroup check (and kill), or a restart after an exit."""
        st = self.status(self.cid)
        missing = self.cg.missing(self.pod)
        if missing and st.running:  # not the first sync: a container is running
            return self.kill_pod("pod-cgroup-missing",
                                 f"pod cgroup missing: {', '.join(missing[:3])}")
        if not st.running:
            kill = Kill(self.t(), "exited", st.exit_code, st.reason, "exited by itself")
            self.log.kills.append(kill)
            self.event(f"{self.name} exited {st.exit_code} ({st.reason}); restarting")
            self.log.restarts += 1
            if self.cri.sandbox_ready(self.sandbox_id):
                self._start_main()
            else:
                self.create()
            return kill
        return None

    def kill_pod(self, why: str, detail: str) -> Kill:
        """killPod: StopContainer (grace >= 2 s), StopPodSandbox; then EnsureExists and the
        runtime's SandboxChanged re-creation with init containers."""
        self.event(f"kubelet: {detail}; killing pod (StopContainer timeout {self.grace}s)")
        self.cri.stop(self.cid, self.grace)
        st = self.status(self.cid)
        kill = Kill(self.t(), why, st.exit_code, st.reason, detail)
        self.log.kills.append(kill)
        self.event(f"{self.name} ended: exit {st.exit_code} ({st.reason})")
        self.cri.stop_sandbox(self.sandbox_id)
        self.log.restarts += 1
        self.event("SandboxChanged: pod sandbox changed, it will be killed and re-created")
        self.cg.update_qos()  # SyncPod: UpdateQOSCgroups before EnsureExists
        self.create()
        return kill

    def kill_container(self, why: str, detail: str) -> Kill:
        """A liveness kill: this container only, restarted in the same sandbox."""
        self.event(f"kubelet: {detail}; killing container (timeout {self.grace}s)")
        self.cri.stop(self.cid, self.grace)
        st = self.status(self.cid)
        kill = Kill(self.t(), why, st.exit_code, st.reason, detail)
        self.log.kills.append(kill)
        self.log.restarts += 1
        self._start_main()
        return kill

    def cleanup(self) -> list[str]:
        """Remove the pod's sandboxes and cgroup; notes when CRI was slow or refused."""
        notes = []
        for sid in self.log.sandboxes:
            start = self.clock.monotonic()
            try:
                self.cri.stop_sandbox(sid, CLEANUP_TIMEOUT_S)
            except CriCallError as exc:
                notes.append(f"clean-up: StopPodSandbox {sid[:12]} failed after "
                             f"{self.clock.monotonic() - start:.0f}s: {exc.code}")
            try:
                self.cri.remove_sandbox(sid)
            except CriCallError as exc:
                notes.append(f"clean-up: RemovePodSandbox {sid[:12]}: {exc.code}")
        self.cg.destroy(self.pod)
        return notes


def churn_once(cri: CriClient, cgroups: NodeCgroups) -> str:
    """A sibling pod comes and goes (its own slice or directory, sandbox, removal), as pod
    churn does on a real node: what makes systemd re-realize the parent slices."""
    sib = PodCgroup(cgroups.driver)
    cgroups.ensure(sib)
    cfg = kubelet_pod("churn", sib.uid, 0, sib.parent, "/var/log/pods/churn")
    try:
        sid = cri.run_sandbox(cfg)
    except CriCallError as exc:
        cgroups.destroy(sib)
        return f"churn sandbox failed: {exc.details[:100]}"
    for call in (cri.stop_sandbox, cri.remove_sandbox):
        try:
            call(sid)
        except CriCallError as exc:
            return f"churn tear-down failed: {exc.details[:100]}"
    cgroups.destroy(sib)
    return "churn: sibling pod created and removed"
