"""One node container: boot with systemd as PID 1, write the config, restart containerd.

As kind does it: the node boots the image's containerd, then kind writes its
patched ``/etc/containerd/config.toml`` and restarts containerd through systemd.
The CRI socket is reached through ``/run/containerd`` bind-mounted from a host
directory. containerd's own words about a config come from the node's journal
(``journalctl -u containerd``). Tear-down stops the node (systemd cleans its own
cgroups on SIGRTMIN+3), removes it by its run label, and removes the cgroups the
emulated kubelet created on the host's hierarchies.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .. import runrecord
from ..clock import Clock
from ..errors import ProbeError, ToolMissing
from ..probe.cri import CriClient
from ..signals import shielded
from .docker import ADAPTATIONS, Docker
from .workload import SANDBOX_REF

BOOT_TIMEOUT_S = 60.0
CONTAINERD_TIMEOUT_S = 30.0
NAMESPACE = "k8s.io"
IMAGES_DIR = "/opt/calico-conformance/images"
NAME_PREFIX = "ccnode-"  # every node container's name; its label holds the run id
SOCKET_PREFIX = "ccn-"  # the node's CRI socket directory, under the temp dir


@dataclass
class Node:
    docker: Docker
    image: str
    run_id: str
    clock: Clock
    name: str = ""
    socket_dir: Path = field(default_factory=Path)
    container_id: str = ""
    facts: dict[str, str] = field(default_factory=dict)
    pod_uids: set[str] = field(default_factory=set)  # the emulated kubelet's pods

    @property
    def address(self) -> str:
        return str(self.socket_dir / "containerd.sock")

    def exec(self, *argv: str, timeout: float = 60, stdin: str | None = None) -> tuple[int, str]:
        res = self.docker.exec(self.name, *argv, timeout=timeout, stdin=stdin)
        return res.returncode, (res.stdout + res.stderr).strip()

    def start(self, record: Path | None = None) -> None:
        """Start the node; the run's record names it first, so a ``kill -9`` at any moment
        leaves nothing the reaper (:mod:`..reap`) cannot find."""
        token = uuid.uuid4().hex[:8]
        with shielded():  # the node and its record appear together, or not at all
            self.name = f"{NAME_PREFIX}{self.run_id[:20]}-{token}"
            # Short and under /tmp: the socket path must fit sun_path (108 bytes).
            self.socket_dir = Path(tempfile.mkdtemp(prefix=f"{SOCKET_PREFIX}{token}-"))
            runrecord.append(record, "node", name=self.name, run_id=self.run_id,
                             socket_dir=str(self.socket_dir), docker=self.docker.binary)
            self.container_id = self.docker.start_node(self.name, self.image, self.run_id,
                                                       self.socket_dir)

    def wait_booted(self) -> str:
        """systemd's state once it has finished starting ("running" or "degraded")."""
        deadline = self.clock.monotonic() + BOOT_TIMEOUT_S
        state = ""
        while self.clock.monotonic() < deadline:
            _rc, state = self.exec("systemctl", "is-system-running", timeout=20)
            if state in ("running", "degraded"):
                return state
            self.clock.sleep(0.3)
        raise ProbeError(f"node {self.name}: systemd did not finish booting in "
                         f"{BOOT_TIMEOUT_S:.0f}s (state {state!r})")

    def read_facts(self, recipe: str, state: str) -> dict[str, str]:
        def word(argv: tuple[str, ...], index: int) -> str:
            words = self.exec(*argv)[1].split()
            return words[index].strip("()") if len(words) > index else "unknown"

        _rc, comm = self.exec("cat", "/proc/1/comm")
        rc_v2, _ = self.exec("test", "-e", "/sys/fs/cgroup/cgroup.controllers")
        self.facts = {
            "node_image": self.image, "recipe": recipe, "node_container": self.container_id,
            "containerd": word(("containerd", "--version"), 2),
            "runc": word(("runc", "--version"), 2),
            "systemd": word(("systemctl", "--version"), 1),
            "pid1": comm, "systemd_state": state, "cgroup": "v2" if rc_v2 == 0 else "v1",
            "docker": self.docker.server_version(),
        }
        if state == "degraded":
            self.facts["failed_units"] = " ".join(self.exec(
                "systemctl", "--failed", "--plain", "--no-legend", "--no-pager")[1].split()[::5])
        for i, line in enumerate(ADAPTATIONS):
            self.facts[f"adaptation{i + 1}"] = line
        return self.facts

    def write_config(self, text: str) -> None:
        rc, out = self.exec("tee", "/etc/containerd/config.toml", stdin=text)
        if rc != 0:
            raise ProbeError(f"cannot write the node's config.toml: {out}")

    def restart_containerd(self) -> tuple[bool, str]:
        """(active, containerd's own words when it is not): restart as kind does, then wait."""
        self.exec("systemctl", "reset-failed", "containerd.service")
        self.exec("systemctl", "restart", "containerd.service", timeout=90)
        deadline = self.clock.monotonic() + CONTAINERD_TIMEOUT_S
        while self.clock.monotonic() < deadline:
            _rc, state = self.exec("systemctl", "is-active", "containerd.service")
            if state == "active" and Path(self.address).exists():
                return True, ""
            if state in ("failed", "activating", "inactive") and self._failed_once():
                return False, self.journal()
            self.clock.sleep(0.5)
        return False, self.journal()

    def _failed_once(self) -> bool:
        _rc, out = self.exec("systemctl", "show", "-p", "NRestarts,Result", "containerd.service")
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return props.get("Result", "success") != "success" or props.get("NRestarts", "0") != "0"

    def journal(self, since_boot: bool = True) -> str:
        _rc, out = self.exec("journalctl", "-u", "containerd.service", "--no-pager", "-o", "cat",
                             timeout=30)
        return out

    def containerd_alive(self) -> bool:
        return self.exec("systemctl", "is-active", "containerd.service")[1] == "active"

    def import_images(self, sandbox_image: str) -> None:
        """Local images only: the busybox "pause", tagged as whatever the config pins, and
        the runit workload."""
        for tar in ("sandbox.tar", "workload.tar"):
            rc, out = self.exec("ctr", "-n", NAMESPACE, "images", "import",
                                f"{IMAGES_DIR}/{tar}", timeout=120)
            if rc != 0:
                raise ProbeError(f"ctr images import {tar} in the node failed: {out}")
        if sandbox_image and sandbox_image != SANDBOX_REF:
            rc, out = self.exec("ctr", "-n", NAMESPACE, "images", "tag", "--force", SANDBOX_REF,
                                sandbox_image)
            if rc != 0:
                raise ProbeError(f"ctr images tag {sandbox_image} failed: {out}")

    def client(self) -> CriClient:
        return CriClient(self.address)

    @classmethod
    def recorded(cls, entry: dict[str, object], clock: Clock) -> Node | None:
        """The node a dead run's record names, as far as it still exists, ready for
        :meth:`teardown`; None when the entry is not one of ours. A container is
        touched only if it still carries the recorded run's label."""
        name, run_id = entry.get("name"), entry.get("run_id")
        sock, binary = entry.get("socket_dir"), entry.get("docker")
        if not (isinstance(name, str) and isinstance(run_id, str) and isinstance(sock, str)
                and isinstance(binary, str) and name.startswith(NAME_PREFIX)
                and Path(sock).name.startswith(SOCKET_PREFIX)
                and Path(sock).parent == Path(tempfile.gettempdir())):
            return None
        node = cls(Docker(binary), "", run_id, clock, socket_dir=Path(sock))
        try:
            found = node.docker.owner(name)
        except ToolMissing:  # docker gone since: only the socket directory is ours to remove
            found = None
        if found is not None and found[1] == run_id:
            node.name, node.container_id = name, found[0]
        return node

    def teardown(self) -> list[str]:
        """Stop and remove the node and what it left on the host; returns what remains."""
        problems: list[str] = []
        if self.name:
            self.docker.run("stop", "--time", "10", self.name, check=False, timeout=60)
            if not self.docker.remove(self.name):
                problems.append(f"container {self.name} could not be removed")
        problems += remove_stray_pod_cgroups(self.pod_uids)
        if self.container_id:
            problems += remove_cgroup_tree(self.container_id)
        if self.socket_dir != Path() and self.socket_dir.exists():
            shutil.rmtree(self.socket_dir, ignore_errors=True)
        return problems


CGROUP_ROOT = Path("/sys/fs/cgroup")


def _rmdir_tree(top: Path) -> list[str]:
    dirs = sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
    for d in [*dirs, top]:
        try:
            d.rmdir()
        except FileNotFoundError:
            continue
        except OSError as exc:
            return [f"cgroup {d}: {exc.strerror}"]
    return []


def remove_stray_pod_cgroups(uids: set[str], root: Path = CGROUP_ROOT) -> list[str]:
    """Our pods' cgroupfs-driver directories at a hierarchy's host root, should a runtime
    have made any there (a safety net: the node's mounts root every hierarchy, cgroup2
    included, at the node's own cgroup, so normally there are none)."""
    problems: list[str] = []
    for hierarchy in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        for uid in sorted(uids):
            for pod in [*hierarchy.glob(f"kubepods/*/pod{uid}"),
                        *hierarchy.glob(f"kubepods/pod{uid}")]:
                problems += _rmdir_tree(pod)
        for parent in [*hierarchy.glob("kubepods/*"), hierarchy / "kubepods"]:
            with contextlib.suppress(OSError):
                parent.rmdir()  # only when empty: another node may still use it
    return problems


def remove_cgroup_tree(container_id: str, root: Path = CGROUP_ROOT) -> list[str]:
    """rmdir what a killed node's systemd left under ``/docker/<id>`` in every v1 hierarchy
    (docker removes the container's own cgroup only when it is empty)."""
    problems = []
    for hierarchy in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        top = hierarchy / "docker" / container_id
        if top.is_dir():
            problems += _rmdir_tree(top)
    return problems
