"""The pod and container configs the kubelet sends, and its cgroup-parent rule.

Metadata carries ``attempt`` the way kuberuntime does (a new sandbox after
SandboxChanged gets attempt+1; a restarted container gets its restart count:
kuberuntime_container.go startContainer / kuberuntime_sandbox.go createPodSandbox).
"""

from __future__ import annotations

from typing import Any

from cri_api.v1 import api_pb2 as pb


def cgroup_parent(driver: str, parents: tuple[str, ...], uid: str) -> str:
    """The pod cgroup the kubelet hands CRI (its cgroupManager.Name of the pod).

    The systemd driver passes a slice name whose dashes spell the hierarchy
    (``kubepods-besteffort-pod<uid_>.slice``: the uid's own dashes become underscores),
    the cgroupfs driver a path (``/kubepods/besteffort/pod<uid>``); containerd's
    getCgroupsPath picks runc's ``slice:prefix:name`` form from the ``.slice`` suffix
    alone, which is how a driver mismatch reaches runc (containerd/containerd#4857).
    """
    if driver == "systemd":
        return "-".join(parents) + f"-pod{uid.replace('-', '_')}.slice"
    return "/" + "/".join(parents) + f"/pod{uid}"


def _namespaces() -> Any:
    # calico-node's pod: host network, its own PID namespace (runsvdir is PID 1).
    return pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER, ipc=pb.POD)


def pod_config(name: str, uid: str, *, namespace: str, attempt: int, cgroup_parent: str,
               log_dir: str, labels: dict[str, str], privileged: bool = False) -> Any:
    """A host-network pod (no hostname: hostNetwork pods keep the node's)."""
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace=namespace,
                                       attempt=attempt),
        log_directory=log_dir, labels=labels,
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=cgroup_parent,
            security_context=pb.LinuxSandboxSecurityContext(
                privileged=privileged, namespace_options=_namespaces())))


def container_config(name: str, *, attempt: int, image: str, command: list[str],
                     log_path: str, privileged: bool = False) -> Any:
    linux = (pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
        privileged=True, namespace_options=_namespaces())) if privileged else None)
    return pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name, attempt=attempt),
                              image=pb.ImageSpec(image=image), command=command,
                              log_path=log_path, linux=linux)


def kubelet_pod(name: str, uid: str, attempt: int, cgroup_parent: str, log_dir: str) -> Any:
    """calico-node's pod as the kubelet sends it: privileged, kube-system."""
    return pod_config(name, uid, namespace="kube-system", attempt=attempt,
                      cgroup_parent=cgroup_parent, log_dir=log_dir, privileged=True,
                      labels={"io.kubernetes.pod.name": name, "io.kubernetes.pod.uid": uid})


def kubelet_container(name: str, attempt: int, image: str, command: list[str]) -> Any:
    return container_config(name, attempt=attempt, image=image, command=command,
                            log_path=f"{name}/{attempt}.log", privileged=True)
