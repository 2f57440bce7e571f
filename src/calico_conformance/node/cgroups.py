"""The kubelet's pod cgroups inside a node, per cgroup driver, and its existence check.

Followed from kubernetes/kubernetes pkg/kubelet/cm:
- cgroup_manager_linux.go: a CgroupName ``[kubepods, besteffort, pod<uid>]`` is
  ``/kubepods/besteffort/pod<uid>`` for cgroupfs and, for systemd,
  ``kubepods-besteffort-pod<uid_with_underscores>.slice`` nested as
  ``/kubepods.slice/kubepods-besteffort.slice/...`` (ToSystemd / escapeSystemdCgroupName);
  ``Create`` goes through libcontainer's manager (systemd: ``StartTransientUnit`` of the
  slice; cgroupfs: mkdir in every hierarchy); ``Validate``/``Exists`` on cgroup v1 is
  "every path exists" over the allowlist cpu, cpuacct, cpuset, memory, systemd, pids
  (+ hugetlb when mounted), reading the cgroup filesystem and nothing else.
- qos_container_manager_linux.go / pod_container_manager_linux.go: the QoS parents are
  created before pods; the pod's cgroup_parent handed to the runtime is
  ``cgroupManager.Name(podCgroup)``: the slice name for systemd, the path for cgroupfs.
- runc libcontainer/cgroups/systemd/v1.go (the kubelet's vendored manager): a slice is
  started with Description, Wants=<parent slice>, Memory/CPU/BlockIO/TasksAccounting=true
  and DefaultDependencies=false.

The node's hierarchies are rooted at its own cgroup (docker's mounts, kind's fix_cgroup),
so every kubelet path ``<mount>/<name>`` is, seen from the host, ``<mount>/<node cgroup>/
<name>``, the node cgroup being PID 1's cgroup in the node without ``init.scope``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ProbeError
from .lifecycle import CGROUP_ROOT, Node

ALLOWLIST = ("cpu", "cpuacct", "cpuset", "memory", "systemd", "pids")
QOS = "besteffort"  # calico-node sets no requests/limits in the upstream manifests


@dataclass(frozen=True)
class PodCgroup:
    driver: str
    uid: str
    qos: str = QOS

    @property
    def parent(self) -> str:
        """What the kubelet hands CRI as ``cgroup_parent`` (cgroupManager.Name)."""
        if self.driver == "systemd":
            return f"kubepods-{self.qos}-pod{self.uid.replace('-', '_')}.slice"
        return f"/kubepods/{self.qos}/pod{self.uid}"

    @property
    def relpath(self) -> str:
        """The cgroupfs path below a hierarchy's root (the kubelet's buildCgroupPaths)."""
        if self.driver == "systemd":
            return ("kubepods.slice/kubepods-besteffort.slice/"
                    f"kubepods-{self.qos}-pod{self.uid.replace('-', '_')}.slice")
        return f"kubepods/{self.qos}/pod{self.uid}"


def hierarchies(root: Path = CGROUP_ROOT) -> dict[str, Path]:
    """Mounted v1 hierarchies by the names /proc/<pid>/cgroup uses (name=systemd -> systemd)."""
    return {p.name: p for p in sorted(root.iterdir())
            if p.is_dir() and not p.is_symlink() and p.name != "unified"}


def proc_cgroups(text: str) -> dict[str, str]:
    """``/proc/<pid>/cgroup`` as controller -> path (``4:cpu,cpuacct:/x`` gives both)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or not parts[1]:
            continue
        for ctrl in parts[1].split(","):
            out[ctrl.removeprefix("name=")] = parts[2]
    return out


class NodeCgroups:
    """The emulated kubelet's cgroup manager for one node and one driver."""

    def __init__(self, node: Node, driver: str) -> None:
        self.node, self.driver = node, driver
        rc, text = node.exec("cat", "/proc/1/cgroup")
        if rc != 0:
            raise ProbeError(f"cannot read the node's /proc/1/cgroup: {text}")
        # libcontainer systemd v1 getSubsystemPath: mountpoint + PID 1's cgroup without
        # "init.scope" (systemd >= 226 sits in init.scope, not at its root).
        self.node_root = {c: p.removesuffix("/init.scope") or "/"
                          for c, p in proc_cgroups(text).items()}
        self.mounts = hierarchies()
        self.notes: list[str] = []

    def base(self, ctrl: str) -> Path:
        """Where the kubelet's paths start in hierarchy ``ctrl``."""
        return self.mounts[ctrl] / self.node_root.get(ctrl, "/").lstrip("/")

    def paths(self, pod: PodCgroup) -> dict[str, Path]:
        return {c: self.base(c) / pod.relpath for c in ALLOWLIST if c in self.mounts}

    def missing(self, pod: PodCgroup) -> list[str]:
        """The kubelet's v1 Validate: allowlisted controller paths that do not exist."""
        return [str(p) for p in self.paths(pod).values() if not p.is_dir()]

    def ensure(self, pod: PodCgroup) -> None:
        """EnsureExists: QoS parents, then the pod cgroup, through the driver."""
        self.node.pod_uids.add(pod.uid)
        if self.driver == "systemd":
            for unit, parent in (("kubepods.slice", "-.slice"),
                                 (f"kubepods-{pod.qos}.slice", "kubepods.slice"),
                                 (pod.parent, f"kubepods-{pod.qos}.slice")):
                self._start_slice(unit, parent)
            # libcontainer's joinCgroups then mkdirs the slice in every hierarchy systemd
            # does not manage itself (cpuset, cpuacct, freezer, ... on v1).
            for ctrl in self.mounts:
                if ctrl != "systemd":
                    (self.base(ctrl) / pod.relpath).mkdir(parents=True, exist_ok=True)
        else:
            for ctrl in self.mounts:  # cgroupfs Create: mkdir in every hierarchy
                (self.base(ctrl) / pod.relpath).mkdir(parents=True, exist_ok=True)

    def _start_slice(self, unit: str, parent: str) -> None:
        _rc, state = self.node.exec("systemctl", "is-active", unit)
        if state == "active":
            return
        props = [("Description", "s", f"libcontainer container {unit}"),
                 ("Wants", "as", f"1 {parent}"), ("MemoryAccounting", "b", "true"),
                 ("CPUAccounting", "b", "true"), ("BlockIOAccounting", "b", "true"),
                 ("TasksAccounting", "b", "true"), ("DefaultDependencies", "b", "false")]
        for attempt in (props, [p for p in props if p[0] != "BlockIOAccounting"]):
            # "--": the root slice's name "-.slice" must not parse as an option.
            argv = ["busctl", "--", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                    "org.freedesktop.systemd1.Manager", "StartTransientUnit", "ssa(sv)a(sa(sv))",
                    unit, "replace", str(len(attempt))]
            for name, sig, value in attempt:
                argv += [name, sig, *value.split(" ", 1)] if sig == "as" else [name, sig, value]
            argv.append("0")
            rc, out = self.node.exec(*argv)
            if rc == 0:
                break
            if attempt is not props:
                raise ProbeError(f"systemd refused slice {unit}: {out}")
            self.notes.append(f"StartTransientUnit {unit} without BlockIOAccounting "
                              f"(systemd said: {out})")
        self._wait_active(unit)

    def _wait_active(self, unit: str) -> None:
        for _ in range(50):
            if self.node.exec("systemctl", "is-active", unit)[1] == "active":
                return
            self.node.clock.sleep(0.1)
        raise ProbeError(f"slice {unit} did not become active")

    def destroy(self, pod: PodCgroup) -> None:
        """pcm.Destroy after a pod is gone: StopUnit for systemd, rmdir for cgroupfs."""
        if self.driver == "systemd":
            # runc's stopUnit (libcontainer/cgroups/systemd/common.go): StopUnit, then wait
            # at most 1 s for the job signal and continue ("Timed out while waiting ...").
            self.node.exec("systemctl", "stop", "--no-block", pod.parent)
            for _ in range(10):
                if self.node.exec("systemctl", "is-active", pod.parent)[1] != "deactivating":
                    return
                self.node.clock.sleep(0.1)
            self.notes.append(f"StopUnit {pod.parent}: still deactivating after 1 s")
            return
        for ctrl in self.mounts:
            d = self.base(ctrl) / pod.relpath
            for sub in sorted((p for p in d.glob("*") if p.is_dir()), reverse=True):
                with contextlib.suppress(OSError):
                    sub.rmdir()
            with contextlib.suppress(OSError):
                d.rmdir()

    def placement(self, pid: int) -> dict[str, str]:
        """Where a process really is (the node's /proc/<pid>/cgroup), per controller."""
        rc, text = self.node.exec("cat", f"/proc/{pid}/cgroup")
        return proc_cgroups(text) if rc == 0 else {}

    def inside_pod(self, pid: int, pod: PodCgroup) -> dict[str, bool]:
        """For each allowlisted controller: is ``pid`` at or below the pod's cgroup?"""
        where = self.placement(pid)
        out = {}
        for ctrl in ALLOWLIST:
            if ctrl not in self.mounts or ctrl not in where:
                continue
            want = "/" + str((self.base(ctrl) / pod.relpath).relative_to(self.mounts[ctrl]))
            out[ctrl] = where[ctrl] == want or where[ctrl].startswith(want + "/")
        return out
