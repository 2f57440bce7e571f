"""The CRI calls a kubelet would make, over gRPC with the published v1 stubs.

Only what the probe needs: is the runtime there and ready, can it run a pod
sandbox with the configured default runtime, can a container start in it and keep
running. The pod asks for the node's network namespace: there is no CNI on a probe
host, and calico-node itself is a hostNetwork pod, so that is also the faithful case.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cri_api.v1 import api_pb2 as pb
from cri_api.v1 import api_pb2_grpc as stubs

from ..errors import CriCallError

CALL_TIMEOUT = 60.0  # RunPodSandbox includes shim start and runc create


@dataclass(frozen=True)
class RuntimeStatus:
    runtime_ready: bool
    reason: str  # RuntimeReady's reason/message when not ready
    network_ready: bool
    network_message: str


@dataclass(frozen=True)
class ContainerState:
    state: str  # CONTAINER_RUNNING, CONTAINER_EXITED, ...
    exit_code: int
    reason: str
    message: str

    @property
    def running(self) -> bool:
        return self.state == "CONTAINER_RUNNING"


def cgroup_parent(driver: str, token: str, pod_uid: str) -> str:
    """The kubelet's pod cgroup, in its driver's format, named with our token.

    kubelet's cgroupfs driver passes a path (``/kubepods/besteffort/pod<uid>``), its
    systemd driver a slice name (``kubepods-besteffort-pod<uid>.slice``); containerd's
    getCgroupsPath picks runc's ``slice:prefix:name`` form from the ``.slice`` suffix
    alone, which is how a driver mismatch reaches runc (containerd/containerd#4857).
    """
    uid = pod_uid.replace("-", "_")
    if driver == "systemd":
        return f"ccprobe{token}-pod{uid}.slice"
    return f"/ccprobe-{token}/pod{uid}"


class CriClient:
    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(f"unix://{address}")
        # The generated stubs carry no annotations.
        self.runtime = stubs.RuntimeServiceStub(self.channel)  # type: ignore[no-untyped-call]
        self.images = stubs.ImageServiceStub(self.channel)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self.channel.close()

    def _call(self, name: str, method: Any, request: Any, timeout: float = CALL_TIMEOUT) -> Any:
        try:
            return method(request, timeout=timeout)
        except grpc.RpcError as exc:
            code = exc.code().name if hasattr(exc, "code") and exc.code() else "UNKNOWN"
            details = exc.details() if hasattr(exc, "details") else str(exc)
            raise CriCallError(name, code, details or "") from exc

    def version(self) -> str:
        resp = self._call("Version", self.runtime.Version, pb.VersionRequest(), timeout=5)
        return f"{resp.runtime_name} {resp.runtime_version} (CRI {resp.runtime_api_version})"

    def status(self) -> RuntimeStatus:
        resp = self._call("Status", self.runtime.Status, pb.StatusRequest(), timeout=5)
        conds = {c.type: c for c in resp.status.conditions}
        rt, net = conds.get("RuntimeReady"), conds.get("NetworkReady")
        return RuntimeStatus(
            runtime_ready=bool(rt and rt.status),
            reason=f"{rt.reason}: {rt.message}" if rt and not rt.status else "",
            network_ready=bool(net and net.status),
            network_message=net.message if net else "",
        )

    def image_present(self, ref: str) -> bool:
        resp = self._call("ImageStatus", self.images.ImageStatus,
                          pb.ImageStatusRequest(image=pb.ImageSpec(image=ref)), timeout=5)
        return bool(resp.image.id)

    def sandbox_config(self, driver: str, token: str, log_dir: Path) -> Any:
        pod_uid = str(uuid.uuid4())
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=f"probe-{token}", uid=pod_uid,
                                           namespace="calico-conformance", attempt=0),
            log_directory=str(log_dir),
            labels={"app.kubernetes.io/name": "calico-conformance-probe"},
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=cgroup_parent(driver, token, pod_uid),
                security_context=pb.LinuxSandboxSecurityContext(
                    namespace_options=pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER,
                                                         ipc=pb.POD))),
        )

    def run_sandbox(self, config: Any) -> str:
        resp = self._call("RunPodSandbox", self.runtime.RunPodSandbox,
                          pb.RunPodSandboxRequest(config=config))
        return str(resp.pod_sandbox_id)

    def start_container(self, sandbox_id: str, sandbox_config: Any, image: str,
                        command: list[str]) -> str:
        cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="sleeper", attempt=0),
                                 image=pb.ImageSpec(image=image), command=command,
                                 log_path="sleeper.log")
        resp = self._call("CreateContainer", self.runtime.CreateContainer,
                          pb.CreateContainerRequest(pod_sandbox_id=sandbox_id, config=cfg,
                                                    sandbox_config=sandbox_config))
        cid = str(resp.container_id)
        self._call("StartContainer", self.runtime.StartContainer,
                   pb.StartContainerRequest(container_id=cid))
        return cid

    def container_state(self, container_id: str) -> ContainerState:
        resp = self._call("ContainerStatus", self.runtime.ContainerStatus,
                          pb.ContainerStatusRequest(container_id=container_id), timeout=10)
        st = resp.status
        return ContainerState(state=pb.ContainerState.Name(st.state), exit_code=st.exit_code,
                              reason=st.reason, message=st.message)

    def remove_sandbox(self, sandbox_id: str) -> None:
        """Best effort (tear-down): stop and remove, so the shim exits cleanly."""
        for name, method, req in (
            ("StopPodSandbox", self.runtime.StopPodSandbox,
             pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id)),
            ("RemovePodSandbox", self.runtime.RemovePodSandbox,
             pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id)),
        ):
            try:
                self._call(name, method, req, timeout=20)
            except CriCallError:
                return
