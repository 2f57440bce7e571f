"""The kubelet's pod cgroups inside a node, per cgroup driver and cgroup version, and its
pod-cgroup existence check.

Followed from kubernetes/kubernetes pkg/kubelet/cm:
- cgroup_manager_linux.go: a CgroupName ``[kubepods, besteffort, pod<uid>]`` is
  ``/kubepods/besteffort/pod<uid>`` for cgroupfs and, for systemd,
  ``kubepods-besteffort-pod<uid_with_underscores>.slice`` nested as
  ``/kubepods.slice/kubepods-besteffort.slice/...`` (ToSystemd / escapeSystemdCgroupName);
  ``Create`` goes through libcontainer's manager (systemd: a transient slice,
  :mod:`.systemd`; cgroupfs: mkdir). ``Exists`` on cgroup v1 is "every path exists" over
  the allowlist cpu, cpuacct, cpuset, memory, systemd, pids; on v2 (cgroup_v2_manager_linux
  ``Validate``) it is "the pod cgroup's ``cgroup.controllers`` holds every supported
  controller" (cpu, cpuset, hugetlb, memory, pids, as far as the root offers them).
- runc libcontainer/cgroups/fs2 ``CreateCgroupPath``: on v2 every ancestor gets every root
  controller in its ``cgroup.subtree_control`` before the path is made.
- qos_container_manager_linux.go: the QoS parents are created at start; ``UpdateQOSCgroups``
  sets the besteffort slice's CPU weight again, once a minute
  (``periodicQOSCgroupUpdateInterval``) and before a pod's ``EnsureExists``.

Everything is read and written inside the node, through the backend (:mod:`.nodeutils`),
never on the host. libcontainer's getSubsystemPath puts a kubelet path at
``<mount>/<PID 1's cgroup without init.scope>/<name>``; inside a kind node that prefix
resolves to the node's own cgroup (docker's mounts rooted there, kind's fix_cgroup bind
mounts), so the same path serves the kubelet's check and runc's placement.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from ..cri.pods import cgroup_parent
from ..errors import ProbeError
from . import systemd
from .backend import Node
from .nodeutils import make_dirs, missing_dirs, read_file, remove_dirs, write_file

CGROUP_FS = "/sys/fs/cgroup"
ALLOWLIST = ("cpu", "cpuacct", "cpuset", "memory", "systemd", "pids")
SUPPORTED_V2 = ("cpu", "cpuset", "hugetlb", "memory", "pids")  # getSupportedUnifiedControllers
QOS = "besteffort"  # calico-node sets no requests/limits in the upstream manifests
QOS_PERIOD_S = 60.0  # qos_container_manager_linux.go periodicQOSCgroupUpdateInterval
# A BestEffort pod's and QoS class's CPU: shares 2 (MinShares), weight 1 on v2.
BESTEFFORT = {"v1": ("CPUShares", "cpu.shares", "2"), "v2": ("CPUWeight", "cpu.weight", "1")}


@dataclass(frozen=True)
class PodCgroup:
    driver: str
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))
    qos: str = QOS

    @property
    def parent(self) -> str:
        """What the kubelet hands CRI as ``cgroup_parent`` (cgroupManager.Name)."""
        return cgroup_parent(self.driver, ("kubepods", self.qos), self.uid)

    @property
    def relpath(self) -> str:
        """The cgroupfs path below a hierarchy's root (the kubelet's buildCgroupPaths)."""
        if self.driver == "systemd":
            return f"kubepods.slice/kubepods-{self.qos}.slice/{self.parent}"
        return self.parent.lstrip("/")


def hierarchies(mountinfo: str) -> list[str]:
    """The node's mounted v1 hierarchies, by their directory under /sys/fs/cgroup, read
    from its mountinfo as libcontainer finds them (a leftover plain directory such as
    ``cpu,cpuacct`` on a host that mounts cpu and cpuacct apart is no hierarchy)."""
    out: set[str] = set()
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - cgroup " not in line or len(fields) < 5:
            continue
        rel = fields[4].removeprefix(f"{CGROUP_FS}/")
        if rel != fields[4] and "/" not in rel:
            out.add(rel)
    return sorted(out)


def proc_cgroups(text: str) -> dict[str, str]:
    """``/proc/<pid>/cgroup`` as controller -> path (``4:cpu,cpuacct:/x`` gives both)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for ctrl in parts[1].split(",") if parts[1] else ["unified"]:
            out[ctrl.removeprefix("name=")] = parts[2]
    return out


class NodeCgroups:
    """The emulated kubelet's cgroup manager for one node and one driver."""

    def __init__(self, node: Node, driver: str) -> None:
        self.node, self.driver = node, driver
        text = read_file(node, "/proc/1/cgroup")
        if text is None:
            raise ProbeError("cannot read the node's /proc/1/cgroup")
        # libcontainer systemd v1 getSubsystemPath: mountpoint + PID 1's cgroup without
        # "init.scope" (systemd >= 226 sits in init.scope, not at its root).
        self.node_root = {c: p.removesuffix("/init.scope") or "/"
                          for c, p in proc_cgroups(text).items()}
        controllers = read_file(node, f"{CGROUP_FS}/cgroup.controllers")
        self.v2 = controllers is not None  # the unified hierarchy is mounted at the root
        self.version = "v2" if self.v2 else "v1"
        self.root_controllers = set((controllers or "").split())
        self.mounts = ([] if self.v2 else
                       hierarchies(read_file(node, "/proc/self/mountinfo") or ""))
        self.notes: list[str] = []

    def base(self, ctrl: str) -> str:
        """Where the kubelet's paths start in hierarchy ``ctrl`` (v2: the unified one)."""
        if self.v2:
            root = self.node_root.get("unified", "/").strip("/")
            return CGROUP_FS + (f"/{root}" if root else "")
        # "cpu,cpuacct" is one hierarchy; /proc/1/cgroup names it by either controller.
        root = self.node_root.get(ctrl.split(",")[0], "/").strip("/")
        return f"{CGROUP_FS}/{ctrl}" + (f"/{root}" if root else "")

    def paths(self, pod: PodCgroup) -> dict[str, str]:
        if self.v2:
            return {"unified": f"{self.base('unified')}/{pod.relpath}"}
        return {c: f"{self.base(c)}/{pod.relpath}" for c in ALLOWLIST if c in self.mounts}

    def missing(self, pod: PodCgroup) -> list[str]:
        """The kubelet's Validate: on v1 the allowlisted paths that do not exist; on v2
        the pod cgroup's missing controllers, in the kubelet's words."""
        if not self.v2:
            return missing_dirs(self.node, list(self.paths(pod).values()))
        path = self.paths(pod)["unified"]
        name = f'["kubepods" "{pod.qos}" "pod{pod.uid}"]'
        have = read_file(self.node, f"{path}/cgroup.controllers")
        if have is None:
            return [f"could not read controllers for cgroup {name}: {path} does not exist"]
        gone = sorted((set(SUPPORTED_V2) & self.root_controllers) - set(have.split()))
        return [f"cgroup {name} has some missing controllers: {', '.join(gone)}"] if gone else []

    def ensure(self, pod: PodCgroup) -> None:
        """EnsureExists: QoS parents, then the pod cgroup, through the driver."""
        qos_unit = f"kubepods-{pod.qos}.slice"
        if self.driver == "systemd":
            for unit, parent in (("kubepods.slice", "-.slice"), (qos_unit, "kubepods.slice"),
                                 (pod.parent, qos_unit)):
                systemd.start_slice(self.node, unit, parent, self.v2, self.notes)
        if self.v2:  # fs2.CreateCgroupPath, then Set (the pod's CPU weight)
            self._create_path(pod.relpath)
            self._set_cpu(pod.parent if self.driver == "systemd" else "", pod.relpath)
        elif self.driver == "systemd":
            # libcontainer's joinCgroups then mkdirs the slice in every hierarchy systemd
            # does not manage itself (cpuset, cpuacct, freezer, ... on v1).
            make_dirs(self.node, [f"{self.base(c)}/{pod.relpath}" for c in self.mounts
                                  if c != "systemd"])
        else:  # cgroupfs Create: mkdir in every hierarchy
            make_dirs(self.node, [f"{self.base(c)}/{pod.relpath}" for c in self.mounts])

    def _create_path(self, relpath: str) -> None:
        """runc fs2.CreateCgroupPath: every root controller enabled in each ancestor."""
        enable = " ".join(f"+{c}" for c in sorted(self.root_controllers))
        parts = relpath.split("/")
        cur = self.base("unified")
        for i, part in enumerate(["", *parts]):
            cur = f"{cur}/{part}" if part else cur
            make_dirs(self.node, [cur])
            if i < len(parts):  # not the leaf: its children get the controllers
                self.node.exec("sh", "-c", 'echo "$1" > "$2"/cgroup.subtree_control || '
                               'for c in $1; do echo "$c" > "$2"/cgroup.subtree_control; done',
                               "sh", enable, cur)

    def _set_cpu(self, unit: str, relpath: str) -> None:
        """libcontainer Set of a BestEffort cgroup: the systemd property, then the file."""
        prop, filename, value = BESTEFFORT[self.version]
        if unit:
            said = systemd.set_properties(self.node, unit, [(prop, "t", value)])
            if said:
                self.notes.append(f"SetUnitProperties {unit} {prop}={value}: {said}")
        target = (f"{self.base('unified')}/{relpath}" if self.v2
                  else f"{self.base('cpu')}/{relpath}" if "cpu" in self.mounts else "")
        if target:
            try:
                write_file(self.node, f"{target}/{filename}", value)
            except ProbeError as exc:
                self.notes.append(f"{filename} of {relpath}: {exc}")

    def update_qos(self, qos: str = QOS) -> None:
        """UpdateQOSCgroups: the QoS class's CPU set again (on v2 systemd re-realizes the
        slice, which is what drops controllers from an empty one)."""
        unit = f"kubepods-{qos}.slice" if self.driver == "systemd" else ""
        rel = f"kubepods.slice/{unit}" if unit else f"kubepods/{qos}"
        self._set_cpu(unit, rel)

    def destroy(self, pod: PodCgroup) -> None:
        """pcm.Destroy after a pod is gone: StopUnit for systemd, rmdir for cgroupfs."""
        if self.driver == "systemd":
            systemd.stop_unit(self.node, pod.parent, self.notes)
            return
        remove_dirs(self.node, list(self.paths(pod).values()))

    def placement(self, pid: int) -> dict[str, str]:
        """Where a process really is (the node's /proc/<pid>/cgroup), per controller."""
        text = read_file(self.node, f"/proc/{pid}/cgroup")
        return proc_cgroups(text) if text is not None else {}

    def inside_pod(self, pid: int, pod: PodCgroup) -> dict[str, bool]:
        """For each allowlisted controller: is ``pid`` at or below the pod's cgroup?"""
        where = self.placement(pid)
        out = {}
        for ctrl, path in self.paths(pod).items():
            if ctrl not in where:
                continue
            want = path.removeprefix(CGROUP_FS + ("" if self.v2 else f"/{ctrl}"))
            out[ctrl] = where[ctrl] == want or where[ctrl].startswith(want + "/")
        return out
