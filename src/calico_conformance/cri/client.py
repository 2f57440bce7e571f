"""The one CRI client: every RuntimeService/ImageService call the suite makes, over gRPC
with the published v1 stubs (PyPI ``container-runtime-interface-api``).

Built from an endpoint as cri-tools builds its client: a unix socket path
(``/run/containerd/containerd.sock`` or ``unix:///...``) or a TCP address
(``127.0.0.1:10010``, a VM node's forwarded port). Every failure is a
:class:`~..errors.CriCallError` carrying the gRPC code and containerd's own words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import grpc
from cri_api.v1 import api_pb2 as pb
from cri_api.v1 import api_pb2_grpc as stubs

from ..clock import Clock
from ..errors import CriCallError

CALL_TIMEOUT = 60.0  # RunPodSandbox includes shim start and runc create


@dataclass(frozen=True)
class RuntimeStatus:
    runtime_ready: bool
    reason: str  # RuntimeReady's reason/message when not ready
    network_ready: bool
    network_message: str


@dataclass(frozen=True)
class ContainerStatus:
    state: str  # CONTAINER_RUNNING, CONTAINER_EXITED, ...
    exit_code: int
    reason: str
    message: str = ""
    pid: int = 0  # from the verbose info; 0 when not asked for or not running

    @property
    def running(self) -> bool:
        return self.state == "CONTAINER_RUNNING"


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str
    error: str  # a CRI error (timeout, container gone), "" when the command ran
    seconds: float


def target(endpoint: str) -> str:
    """The gRPC target for an endpoint: a path is a unix socket, anything else host:port."""
    if endpoint.startswith(("unix://", "tcp://")):
        return endpoint.replace("tcp://", "", 1)
    return f"unix://{endpoint}" if endpoint.startswith("/") else endpoint


class CriClient:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.channel = grpc.insecure_channel(target(endpoint))
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

    # --- the runtime ---------------------------------------------------------------------

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

    def runtime_info(self) -> dict[str, Any]:
        """The verbose Status info (containerd's effective CRI config among it), JSON-decoded."""
        resp = self._call("Status", self.runtime.Status, pb.StatusRequest(verbose=True),
                          timeout=10)
        info: dict[str, Any] = {}
        for key, raw in resp.info.items():
            try:
                info[key] = json.loads(raw)
            except ValueError:
                info[key] = raw
        return info

    def image_present(self, ref: str) -> bool:
        resp = self._call("ImageStatus", self.images.ImageStatus,
                          pb.ImageStatusRequest(image=pb.ImageSpec(image=ref)), timeout=5)
        return bool(resp.image.id)

    # --- pods and containers ---------------------------------------------------------------

    def run_sandbox(self, config: Any) -> str:
        resp = self._call("RunPodSandbox", self.runtime.RunPodSandbox,
                          pb.RunPodSandboxRequest(config=config))
        return str(resp.pod_sandbox_id)

    def start(self, sandbox_id: str, sandbox_config: Any, config: Any) -> str:
        """CreateContainer then StartContainer, as the kubelet's startContainer does."""
        resp = self._call("CreateContainer", self.runtime.CreateContainer,
                          pb.CreateContainerRequest(pod_sandbox_id=sandbox_id, config=config,
                                                    sandbox_config=sandbox_config))
        cid = str(resp.container_id)
        self._call("StartContainer", self.runtime.StartContainer,
                   pb.StartContainerRequest(container_id=cid))
        return cid

    def container_status(self, cid: str, verbose: bool = False) -> ContainerStatus:
        resp = self._call("ContainerStatus", self.runtime.ContainerStatus,
                          pb.ContainerStatusRequest(container_id=cid, verbose=verbose),
                          timeout=10)
        pid = 0
        raw = resp.info.get("info") if verbose else None
        if raw:
            try:
                pid = int(json.loads(raw).get("pid", 0))
            except (ValueError, TypeError, AttributeError):
                pid = 0
        st = resp.status
        return ContainerStatus(state=pb.ContainerState.Name(st.state), exit_code=st.exit_code,
                               reason=st.reason, message=st.message, pid=pid)

    def sandbox_ready(self, sandbox_id: str) -> bool:
        resp = self._call("PodSandboxStatus", self.runtime.PodSandboxStatus,
                          pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id), timeout=10)
        return bool(resp.status.state == pb.SANDBOX_READY)

    def stop(self, cid: str, timeout_s: int) -> None:
        """StopContainer: SIGTERM (the image's STOPSIGNAL), SIGKILL after ``timeout_s``."""
        self._call("StopContainer", self.runtime.StopContainer,
                   pb.StopContainerRequest(container_id=cid, timeout=timeout_s),
                   timeout=timeout_s + 30)

    def remove(self, cid: str) -> None:
        self._call("RemoveContainer", self.runtime.RemoveContainer,
                   pb.RemoveContainerRequest(container_id=cid), timeout=30)

    def stop_sandbox(self, sandbox_id: str, timeout_s: float = 60) -> None:
        self._call("StopPodSandbox", self.runtime.StopPodSandbox,
                   pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=timeout_s)

    def remove_sandbox(self, sandbox_id: str, timeout_s: float = 60) -> None:
        self._call("RemovePodSandbox", self.runtime.RemovePodSandbox,
                   pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=timeout_s)

    def discard_sandbox(self, sandbox_id: str) -> None:
        """Best effort (tear-down): stop and remove, so the shim exits cleanly."""
        try:
            self.stop_sandbox(sandbox_id, 20)
            self.remove_sandbox(sandbox_id, 20)
        except CriCallError:
            return

    def exec_sync(self, cid: str, cmd: list[str], timeout_s: int, clock: Clock) -> ExecResult:
        start = clock.monotonic()
        try:
            resp = self._call("ExecSync", self.runtime.ExecSync,
                              pb.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout_s),
                              timeout=timeout_s + 10)
        except CriCallError as exc:
            return ExecResult(-1, "", f"{exc.code}: {exc.details}",
                              round(clock.monotonic() - start, 3))
        out = (resp.stdout or b"").decode(errors="replace") + (resp.stderr or b"").decode(
            errors="replace")
        return ExecResult(int(resp.exit_code), out.strip(), "",
                          round(clock.monotonic() - start, 3))
