"""One CRI package, shared by every tier that talks to a containerd (cri-tools' framework).

``client`` is the one CRI client, built from an endpoint (a unix socket path or a TCP
address); ``pods`` builds the pod and container configs the kubelet would send and holds
the kubelet's cgroup-parent rule; ``archive`` writes the local OCI images; ``waits``
holds the two waits every tier needs (CRI ready, images visible).
"""

from .client import ContainerStatus, CriClient, ExecResult, RuntimeStatus

__all__ = ["ContainerStatus", "CriClient", "ExecResult", "RuntimeStatus"]
