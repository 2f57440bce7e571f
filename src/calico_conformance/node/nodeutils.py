"""In-node work as functions over a :class:`~.backend.Node`, as kind's ``nodeutils``.

Everything here runs *inside* the node through ``node.exec`` (so the same code serves a
Docker node and a virtual machine): systemd's state, the node's facts, containerd's
config and restart, the local images, the OOM-score check, and file access, the node's
own cgroup files included (the host's cgroup tree is never read for a node).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..containerd.words import booted, serving_addresses
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


@dataclass(frozen=True)
class Restarted:
    """containerd after a restart: ``active``, serving CRI ``at_endpoint`` (the kubelet's);
    otherwise its words since the cursor (``journal``) and where it did serve CRI."""

    active: bool
    at_endpoint: bool = False
    journal: str = ""
    serves: tuple[str, ...] = ()


def restart_containerd(node: Node, after: str = "",
                       endpoint: str = "/run/containerd/containerd.sock") -> Restarted:
    """Restart as kind does, then wait for CRI at the kubelet's ``endpoint``. ``after``:
    the journal cursor this cell's words start after (a reused node)."""
    node.exec("systemctl", "reset-failed", "containerd.service")
    node.exec("systemctl", "restart", "containerd.service", timeout=90)
    deadline = node.clock.monotonic() + CONTAINERD_TIMEOUT_S
    while node.clock.monotonic() < deadline:
        _rc, state = node.exec("systemctl", "is-active", "containerd.service")
        if state == "active":
            if node.exec("test", "-S", endpoint)[0] == 0:
                return Restarted(True, at_endpoint=True)
            said = journal(node, after)
            if booted(said):  # up, and serving somewhere the kubelet does not look
                return Restarted(True, journal=said, serves=serving_addresses(said))
        if state in ("failed", "activating", "inactive") and _failed_once(node):
            return Restarted(False, journal=journal(node, after))
        node.clock.sleep(0.5)
    return Restarted(False, journal=journal(node, after))


def _failed_once(node: Node) -> bool:
    _rc, out = node.exec("systemctl", "show", "-p", "NRestarts,Result", "containerd.service")
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return props.get("Result", "success") != "success" or props.get("NRestarts", "0") != "0"


def journal(node: Node, after: str = "") -> str:
    """containerd's journal since the node booted, or since ``after`` (a cursor from
    :func:`journal_cursor`): its own words about this cell's config, not an earlier one's."""
    since = ["--after-cursor", after] if after else []
    _rc, out = node.exec("journalctl", "-u", "containerd.service", "--no-pager", "-o", "cat",
                         *since, timeout=30)
    return out


def journal_cursor(node: Node) -> str:
    """Where the journal ends now ("" if it cannot say: then the whole journal is read)."""
    _rc, out = node.exec("journalctl", "-n", "0", "--show-cursor", "--no-pager")
    return next((ln.split("cursor:", 1)[1].strip() for ln in out.splitlines()
                 if ln.startswith("-- cursor:")), "")


# --- between cells on a reused node (:mod:`.pool`) ------------------------------------------

RESET_STEPS = ("containerd stopped", "every pod's processes killed", "kubepods.slice stopped",
               "pod cgroup directories removed")
_RESET = r"""
systemctl stop containerd.service
for d in $(find /sys/fs/cgroup -depth -type d -name '*kubepods*' 2>/dev/null); do
  for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
done
for c in /proc/[0-9]*/comm; do
  case "$(cat "$c" 2>/dev/null)" in containerd-shim*) p=${c#/proc/}; kill -9 "${p%/comm}";; esac
done
systemctl stop kubepods.slice 2>/dev/null
systemctl reset-failed
find /sys/fs/cgroup -depth -type d -name '*kubepods*' -exec rmdir {} + 2>/dev/null
exit 0
"""
_LEFT = r"""
for c in /proc/[0-9]*/comm; do
  case "$(cat "$c" 2>/dev/null)" in containerd-shim*) echo "a containerd shim is running";; esac
done
find /sys/fs/cgroup -maxdepth 4 -type d -name '*kubepods*' -printf 'cgroup %p is left
'
[ "$(systemctl is-active kubepods.slice)" = active ] && echo "kubepods.slice is active"
ls -A /run/containerd/io.containerd.runtime.v2.task/k8s.io 2>/dev/null | sed 's/^/task /'
exit 0
"""


def reset(node: Node) -> list[str]:
    """Return the node to its booted state for the next cell's config (containerd is
    restarted by that cell); what is left afterwards, or [] when it is clean."""
    rc, out = node.exec("sh", "-c", _RESET, timeout=120)
    if rc != 0:
        return [f"reset failed: {out[:200]}"]
    return leftovers(node)


def leftovers(node: Node) -> list[str]:
    """What a previous cell could have left that would change the next cell's verdict."""
    rc, out = node.exec("sh", "-c", _LEFT, timeout=60)
    if rc != 0:
        return [f"cannot check the node: {out[:200]}"]
    return sorted(set(ln for ln in out.splitlines() if ln.strip()))


def containerd_alive(node: Node) -> bool:
    return node.exec("systemctl", "is-active", "containerd.service")[1] == "active"


def import_images(node: Node, sandbox_refs: list[str]) -> list[str]:
    """Local images only: the busybox "pause", tagged as every sandbox image containerd may
    ask for, and the runit workload. Returns the references containerd's own parser
    refused (not staged: containerd, at the sandbox, judges them)."""
    for tar in ("sandbox.tar", "workload.tar"):
        rc, out = node.exec("ctr", "-n", NAMESPACE, "images", "import",
                            f"{IMAGES_DIR}/{tar}", timeout=120)
        if rc != 0:
            raise ProbeError(f"ctr images import {tar} in the node failed: {out}")
    refs = [r for r in sandbox_refs if r != SANDBOX_REF]
    if not refs:
        return []
    script = ('src=$1; shift; for r; do out=$(ctr -n k8s.io images tag --force "$src" "$r" '
              '2>&1) || printf "FAIL %s\t%s\n" "$r" "$out"; done')
    _rc, out = node.exec("sh", "-c", script, "sh", SANDBOX_REF, *refs, timeout=120)
    refused: list[str] = []
    failed: list[str] = []
    for line in out.splitlines():
        if line.startswith("FAIL "):
            ref, _, said = line[5:].partition("\t")
            (refused if "invalid reference" in said else failed).append(f"{ref} ({said})")
    if failed:
        raise ProbeError(f"ctr images tag failed: {'; '.join(failed)}")
    return refused


def can_lower_oom_score(node: Node) -> bool:
    """Whether a process in the node may lower its oom_score_adj: containerd's CRI gives
    sandboxes -998, and where that is refused runc fails every sandbox unless
    ``restrict_oom_score_adj = true`` (which is why kind sets it when rootless)."""
    rc, _ = node.exec("sh", "-c", 'read c < /proc/self/oom_score_adj; [ "$c" -le -1000 ] || '
                      'echo $((c - 1)) > /proc/self/oom_score_adj')
    return rc == 0
