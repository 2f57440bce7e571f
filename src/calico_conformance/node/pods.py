"""The CRI calls the kubelet makes for one pod, as the kubelet makes them.

Built on :class:`probe.cri.CriClient` (same channel, same error type). Sandbox and
container metadata carry ``attempt`` the way kuberuntime does (a new sandbox after
SandboxChanged gets attempt+1; a restarted container gets restartCount as attempt:
kuberuntime_container.go startContainer / kuberuntime_sandbox.go createPodSandbox).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cri_api.v1 import api_pb2 as pb

from ..errors import CriCallError
from ..probe.cri import CriClient

__all__ = ["CriCallError", "ExecResult", "Pods", "Status"]


@dataclass(frozen=True)
class Status:
    state: str
    exit_code: int
    reason: str
    pid: int

    @property
    def running(self) -> bool:
        return self.state == "CONTAINER_RUNNING"


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str
    error: str  # a CRI error (timeout, container gone), "" when the command ran
    seconds: float


class Pods:
    def __init__(self, client: CriClient) -> None:
        self.c = client

    def runtime_info(self) -> dict[str, Any]:
        resp = self.c._call("Status", self.c.runtime.Status, pb.StatusRequest(verbose=True),
                            timeout=10)
        info: dict[str, Any] = {}
        for key, raw in resp.info.items():
            try:
                info[key] = json.loads(raw)
            except ValueError:
                info[key] = raw
        return info

    def sandbox_config(self, name: str, uid: str, attempt: int, cgroup_parent: str,
                       log_dir: str) -> Any:
        """calico-node's pod: hostNetwork, its own PID namespace (runsvdir is PID 1)."""
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace="kube-system",
                                           attempt=attempt),
            log_directory=log_dir,  # no hostname: hostNetwork pods keep the node's
            labels={"io.kubernetes.pod.name": name, "io.kubernetes.pod.uid": uid},
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=cgroup_parent,
                security_context=pb.LinuxSandboxSecurityContext(
                    privileged=True,
                    namespace_options=pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER,
                                                         ipc=pb.POD))))

    def run_sandbox(self, config: Any) -> str:
        resp = self.c._call("RunPodSandbox", self.c.runtime.RunPodSandbox,
                            pb.RunPodSandboxRequest(config=config))
        return str(resp.pod_sandbox_id)

    def start(self, sandbox_id: str, sandbox_config: Any, name: str, attempt: int, image: str,
              command: list[str]) -> str:
        cfg = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=name, attempt=attempt),
            image=pb.ImageSpec(image=image), command=command,
            log_path=f"{name}/{attempt}.log",
            linux=pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
                privileged=True,
                namespace_options=pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER,
                                                     ipc=pb.POD))))
        resp = self.c._call("CreateContainer", self.c.runtime.CreateContainer,
                            pb.CreateContainerRequest(pod_sandbox_id=sandbox_id, config=cfg,
                                                      sandbox_config=sandbox_config))
        cid = str(resp.container_id)
        self.c._call("StartContainer", self.c.runtime.StartContainer,
                     pb.StartContainerRequest(container_id=cid))
        return cid

    def status(self, cid: str) -> Status:
        resp = self.c._call("ContainerStatus", self.c.runtime.ContainerStatus,
                            pb.ContainerStatusRequest(container_id=cid, verbose=True),
                            timeout=10)
        pid = 0
        raw = resp.info.get("info")
        if raw:
            try:
                pid = int(json.loads(raw).get("pid", 0))
            except (ValueError, TypeError, AttributeError):
                pid = 0
        st = resp.status
        return Status(state=pb.ContainerState.Name(st.state), exit_code=st.exit_code,
                      reason=st.reason, pid=pid)

    def sandbox_ready(self, sandbox_id: str) -> bool:
        resp = self.c._call("PodSandboxStatus", self.c.runtime.PodSandboxStatus,
                            pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id), timeout=10)
        return bool(resp.status.state == pb.SANDBOX_READY)

    def stop(self, cid: str, timeout_s: int) -> None:
        """StopContainer: SIGTERM (the image's STOPSIGNAL), SIGKILL after ``timeout_s``."""
        self.c._call("StopContainer", self.c.runtime.StopContainer,
                     pb.StopContainerRequest(container_id=cid, timeout=timeout_s),
                     timeout=timeout_s + 30)

    def kill_now(self, cid: str) -> None:
        """StopContainer with timeout 0: containerd sends SIGKILL at once."""
        self.stop(cid, 0)

    def remove(self, cid: str) -> None:
        self.c._call("RemoveContainer", self.c.runtime.RemoveContainer,
                     pb.RemoveContainerRequest(container_id=cid), timeout=30)

    def stop_sandbox(self, sandbox_id: str, timeout_s: float = 60) -> None:
        self.c._call("StopPodSandbox", self.c.runtime.StopPodSandbox,
                     pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=timeout_s)

    def remove_sandbox(self, sandbox_id: str) -> None:
        self.c._call("RemovePodSandbox", self.c.runtime.RemovePodSandbox,
                     pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=60)

    def exec_sync(self, cid: str, cmd: list[str], timeout_s: int, clock: Any) -> ExecResult:
        start = clock.monotonic()
        try:
            resp = self.c._call("ExecSync", self.c.runtime.ExecSync,
                                pb.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout_s),
                                timeout=timeout_s + 10)
        except CriCallError as exc:
            return ExecResult(-1, "", f"{exc.code}: {exc.details}",
                              round(clock.monotonic() - start, 3))
        out = (resp.stdout or b"").decode(errors="replace") + (resp.stderr or b"").decode(
            errors="replace")
        return ExecResult(int(resp.exit_code), out.strip(), "",
                          round(clock.monotonic() - start, 3))
