"""In-node work as functions over a :class:`~.backend.Node`, as kind's ``nodeutils``.

Everything here runs *inside* the node through ``node.exec`` (so the same code serves a
Docker node and a virtual machine): systemd's state, the node's facts, containerd's
config and restart, the local images, the OOM-score check, and file access, the node's
own cgroup files included (the host's cgroup tree is never read for a node).
"""

from __future__ import annotations

from ..errors import ProbeError
from .backend import Node
from .workload import SANDBOX_REF

BOOT_TIMEOUT_S = 60.0
CONTAINERD_TIMEOUT_S = 30.0
NAMESPACE = "k8s.io"
IMAGES_DIR = "/opt/calico-conformance/images"
CONFIG = "/etc/containerd/config.toml"


# --- files ------------------------------------------------------------------------------------

def read_file(node: Node, path: str) -> str | None:
    rc, out = node.exec("cat", path)
    return out if rc == 0 else None


def write_file(node: Node, path: str, text: str) -> None:
    rc, out = node.exec("tee", path, stdin=text)
    if rc != 0:
        raise ProbeError(f"cannot write {path} in the node: {out}")


def missing_dirs(node: Node, paths: list[str]) -> list[str]:
    """Those of ``paths`` that are not directories in the node (one exec for all)."""
    if not paths:
        return []
    _rc, out = node.exec("sh", "-c", 'for d; do [ -d "$d" ] || echo "$d"; done', "sh", *paths)
    return [ln for ln in out.splitlines() if ln]


def make_dirs(node: Node, paths: list[str]) -> None:
    if paths:
        rc, out = node.exec("mkdir", "-p", *paths)
        if rc != 0:
            raise ProbeError(f"mkdir in the node failed: {out}")


def remove_dirs(node: Node, paths: list[str]) -> list[str]:
    """rmdir each path's subdirectories (deepest first), then the path; returns the errors
    (a cgroup directory with processes in it cannot go)."""
    if not paths:
        return []
    script = ('for d; do [ -d "$d" ] || continue; '
              'find "$d" -depth -type d -exec rmdir {} + 2>&1 || true; done')
    _rc, out = node.exec("sh", "-c", script, "sh", *paths)
    return [ln for ln in out.splitlines() if ln and "No such file" not in ln]


# --- systemd and containerd -------------------------------------------------------------------

def wait_booted(node: Node) -> str:
    """systemd's state once it has finished starting ("running" or "degraded")."""
    deadline = node.clock.monotonic() + BOOT_TIMEOUT_S
    state = ""
    while node.clock.monotonic() < deadline:
        _rc, state = node.exec("systemctl", "is-system-running", timeout=20)
        if state in ("running", "degraded"):
            return state
        node.clock.sleep(0.3)
    raise ProbeError(f"node {node.name}: systemd did not finish booting in "
                     f"{BOOT_TIMEOUT_S:.0f}s (state {state!r})")


def read_facts(node: Node, recipe: str, state: str) -> dict[str, str]:
    """What the node runs, recorded beside every verdict it gives."""
    def word(argv: tuple[str, ...], index: int) -> str:
        words = node.exec(*argv)[1].split()
        return words[index].strip("()") if len(words) > index else "unknown"

    _rc, comm = node.exec("cat", "/proc/1/comm")
    rc_v2, _ = node.exec("test", "-e", "/sys/fs/cgroup/cgroup.controllers")
    facts = {**node.facts, "recipe": recipe,
             "containerd": word(("containerd", "--version"), 2),
             "runc": word(("runc", "--version"), 2),
             "systemd": word(("systemctl", "--version"), 1),
             "pid1": comm, "systemd_state": state, "cgroup": "v2" if rc_v2 == 0 else "v1"}
    if state == "degraded":
        facts["failed_units"] = " ".join(node.exec(
            "systemctl", "--failed", "--plain", "--no-legend", "--no-pager")[1].split()[::5])
    node.facts.update(facts)
    return node.facts


def restart_containerd(node: Node) -> tuple[bool, str]:
    """(active, containerd's own words when it is not): restart as kind does, then wait."""
    node.exec("systemctl", "reset-failed", "containerd.service")
    node.exec("systemctl", "restart", "containerd.service", timeout=90)
    deadline = node.clock.monotonic() + CONTAINERD_TIMEOUT_S
    while node.clock.monotonic() < deadline:
        _rc, state = node.exec("systemctl", "is-active", "containerd.service")
        if state == "active" and node.exec("test", "-S", "/run/containerd/containerd.sock")[0] == 0:
            return True, ""
        if state in ("failed", "activating", "inactive") and _failed_once(node):
            return False, journal(node)
        node.clock.sleep(0.5)
    return False, journal(node)


def _failed_once(node: Node) -> bool:
    _rc, out = node.exec("systemctl", "show", "-p", "NRestarts,Result", "containerd.service")
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return props.get("Result", "success") != "success" or props.get("NRestarts", "0") != "0"


def journal(node: Node) -> str:
    """containerd's journal since the node booted: its own words about a config."""
    _rc, out = node.exec("journalctl", "-u", "containerd.service", "--no-pager", "-o", "cat",
                         timeout=30)
    return out


def containerd_alive(node: Node) -> bool:
    return node.exec("systemctl", "is-active", "containerd.service")[1] == "active"


def import_images(node: Node, sandbox_image: str) -> None:
    """Local images only: the busybox "pause", tagged as whatever the config pins, and
    the runit workload."""
    for tar in ("sandbox.tar", "workload.tar"):
        rc, out = node.exec("ctr", "-n", NAMESPACE, "images", "import",
                            f"{IMAGES_DIR}/{tar}", timeout=120)
        if rc != 0:
            raise ProbeError(f"ctr images import {tar} in the node failed: {out}")
    if sandbox_image and sandbox_image != SANDBOX_REF:
        rc, out = node.exec("ctr", "-n", NAMESPACE, "images", "tag", "--force", SANDBOX_REF,
                            sandbox_image)
        if rc != 0:
            raise ProbeError(f"ctr images tag {sandbox_image} failed: {out}")


def can_lower_oom_score(node: Node) -> bool:
    """Whether a process in the node may lower its oom_score_adj: containerd's CRI gives
    sandboxes -998, and where that is refused runc fails every sandbox unless
    ``restrict_oom_score_adj = true`` (which is why kind sets it when rootless)."""
    rc, _ = node.exec("sh", "-c", 'read c < /proc/self/oom_score_adj; [ "$c" -le -1000 ] || '
                      'echo $((c - 1)) > /proc/self/oom_score_adj')
    return rc == 0
