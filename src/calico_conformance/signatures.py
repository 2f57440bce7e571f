"""Known failure signatures: what a verdict's evidence means, and where to look next.

Each signature is matched against a verdict, its subtype and its :class:`Evidence` (so a
pasted snapshot and a matrix cell are matched the same way), and points at the lint rules
that catch its config and its sources. Which variants produce a signature is not written
here: ``analyze`` matches stored, observed cells (``docs/observed/``) with :func:`match`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .model import CellResult, Evidence, Verdict
from .verdict_notes import INIT_NOTE, SIGTERM_IGNORED_NOTE, UNKNOWN_255_NOTE

_PEER = re.compile(r"BGP not established with ([\d.:a-fA-F,]+)")
_INIT = INIT_NOTE.split("(", 1)[0]


@dataclass(frozen=True)
class Signature:
    id: str
    explanation: str
    test: Callable[[Verdict, str, Evidence], str | None]  # detail when it matches, else None
    lint: tuple[str, ...] = ()
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Match:
    id: str
    explanation: str
    detail: str
    lint: tuple[str, ...]
    references: tuple[str, ...]


def _events(ev: Evidence, reason: str, text: str = "") -> int:
    return sum(e.count for e in ev.events if e.reason == reason and text in e.message)


def _killed0(v: Verdict, sub: str, ev: Evidence) -> str | None:
    if v is Verdict.RESTARTS and sub == "killed-exit-0":
        return f"exit codes {list(ev.exit_codes)}, reasons {list(ev.reasons)}"
    return None


def _sandbox(v: Verdict, sub: str, ev: Evidence) -> str | None:
    init = [n for n in ev.notes if n.startswith(_INIT)]
    changed = _events(ev, "SandboxChanged")
    if not (init or changed or sub == "sandbox-recreated"):
        return None
    parts = [f"SandboxChanged x{changed}"] if changed else []
    parts += [n[len(_INIT):].split(")", 1)[0].strip("( ") for n in init]
    return "; ".join(parts) or "sandbox re-created"


def _flat(text: str) -> str:
    """Pasted messages wrap anywhere: compare them with whitespace runs as one space."""
    return " ".join(text.split())


def _bird_peer(v: Verdict, sub: str, ev: Evidence) -> str | None:
    m = _PEER.search(_flat(ev.probe_message))
    return f"peer {m.group(1)}" if m else None


def _bird_socket(v: Verdict, sub: str, ev: Evidence) -> str | None:
    return "BIRD socket refused" if "unable to connect to BIRD" in _flat(ev.probe_message) \
        else None


def _unknown255(v: Verdict, sub: str, ev: Evidence) -> str | None:
    return "Unknown, exit 255" if sub == "runtime-restarted" or (
        255 in ev.exit_codes and "Unknown" in ev.reasons) else None


def _sigkill(v: Verdict, sub: str, ev: Evidence) -> str | None:
    return "Error, exit 137" if sub == "killed-exit-137" else None


def _oom(v: Verdict, sub: str, ev: Evidence) -> str | None:
    return "OOMKilled" if sub == "oom-killed" or "OOMKilled" in ev.reasons else None


def _crash(v: Verdict, sub: str, ev: Evidence) -> str | None:
    codes = [c for c in ev.exit_codes if c not in (0, 137, 255)]
    if v is Verdict.RESTARTS and codes and "Completed" not in ev.reasons:
        return f"exit codes {codes}"
    return None


def _no_cause(v: Verdict, sub: str, ev: Evidence) -> str | None:
    if v is Verdict.RESTARTS and not ev.exit_codes and not (set(ev.reasons) - {
            "CrashLoopBackOff"}) and sub in ("crashloop-backoff", "cause-not-shown"):
        return "no exit code or reason in the input"
    return None


def _liveness(v: Verdict, sub: str, ev: Evidence) -> str | None:
    n = _events(ev, "Unhealthy", "Liveness probe failed")
    return f"liveness failures x{n}" if n else None


def _cgroups_path(v: Verdict, sub: str, ev: Evidence) -> str | None:
    text = ev.error + " ".join(e.message for e in ev.events)
    return "runc refuses the cgroupsPath" if "expected cgroupsPath" in text else None


def _pull(v: Verdict, sub: str, ev: Evidence) -> str | None:
    return sub if v is Verdict.NOT_STARTED and sub in (
        "ErrImagePull", "ImagePullBackOff", "Failed") else None


SIGNATURES: tuple[Signature, ...] = (
    Signature("killed-exit-0", "restarts, killed-exit-0: Completed/exit 0 is a graceful kill "
              "(runsvdir exits 0 on SIGTERM), usually the kubelet killing the pod after a "
              "liveness failure or a missing pod cgroup (SIGKILL would end with 137)",
              _killed0, ("CC001", "CC009"),
              ("http://smarden.org/runit/runsvdir.8.html",
               "https://github.com/projectcalico/calico/issues/9524")),
    Signature("sandbox-recreated", "SandboxChanged events / init containers re-run: cgroup "
              "driver mismatch between runc and the kubelet", _sandbox, ("CC001", "CC009"), ("https://github.com/kubernetes/kubernetes/issues/110177",
                                   "https://github.com/containerd/containerd/issues/7276")),
    Signature("bird-bgp-peer", "never-ready: BIRD is not ready: BGP not established with "
              "<peer>: the BGP session to that node is down (TCP 179 blocked between nodes, "
              "a wrong autodetected IP, or the peer's calico-node restarting)", _bird_peer,
              references=("https://github.com/projectcalico/calico/pull/1841",)),
    Signature("bird-socket", "BIRD is not running (yet): its control socket is refused; "
              "normal for seconds after each start, so with restarts it is a consequence, "
              "not a cause", _bird_socket),
    Signature("runtime-restarted", "restarts: " + UNKNOWN_255_NOTE, _unknown255,
              references=("https://github.com/projectcalico/calico/issues/9638",)),
    Signature("sigterm-ignored", "restarts: " + SIGTERM_IGNORED_NOTE, _sigkill),
    Signature("oom-killed", "restarts: the kernel OOM killer ended calico-node (exit 137, "
              "OOMKilled): its memory limit is too low for this node", _oom),
    Signature("crash-loop", "restarts: calico-node itself exits with an error; read "
              "`kubectl logs --previous` for the cause (a containerd config does not make "
              "calico-node exit non-zero by itself)", _crash),
    Signature("cause-not-shown", "restarts, but the input shows no exit code or reason: "
              "paste `kubectl describe pod` (Last State) to tell a kill (Completed/0, see "
              "killed-exit-0) from a crash", _no_cause),
    Signature("liveness-kill", "liveness probe failures: the kubelet stops the container "
              "after failureThreshold misses, which ends as Completed/exit 0", _liveness,
              ("CC001",)),
    Signature("cgroupfs-kubelet", "runc refuses the sandbox's cgroupsPath: the kubelet uses "
              "cgroupfs while runc uses systemd cgroups", _cgroups_path, ("CC002",),
              ("https://github.com/containerd/containerd/issues/4857",)),
    Signature("image-pull", "not-started: an image cannot be pulled (a sandbox image other than "
              "the node's pinned pause image is pulled at the first sandbox)", _pull, ("CC010",)),
)


def match(verdict: Verdict, subtype: str, evidence: Evidence) -> list[Match]:
    out = []
    for sig in SIGNATURES:
        detail = sig.test(verdict, subtype, evidence)
        if detail is not None:
            out.append(Match(sig.id, sig.explanation, detail, sig.lint, sig.references))
    return out


def as_described(result: CellResult) -> str:
    """The symptom as ``kubectl describe pod`` would show it (Last State, exit code, Restart
    Count, SandboxChanged, init re-runs, the interval between kills), with where the cell
    ran and, for a node cell, where the container landed and what the kubelet found."""
    ev, ax, host = result.evidence, result.axes, result.config_check.host
    where = (f"{ax.point} ({ax.backend}, cgroup {ax.cgroup}, containerd {ax.containerd})"
             if ax.backend else ax.point)
    if result.verdict is Verdict.MISPLACED:  # the report's cause, without its kill
        spot = host.get("cgroup_unified") or host.get("cgroup_memory") or "?"
        return (f"{where}: misplaced: Running, Restart Count 0, container in {spot} "
                f"(inside the pod cgroup: {host.get('in_pod_cgroup', '?')}); the kill "
                + ("needs cgroup v2" if ax.cgroup == "v1" else "did not come in this window"))
    if result.verdict is not Verdict.RESTARTS:
        return f"{where}: {result.verdict.value}"
    parts = [f"Last State {', '.join(sorted(set(ev.reasons))) or '?'} "
             f"(exit {', '.join(str(c) for c in sorted(set(ev.exit_codes))) or '?'})",
             f"Restart Count {ev.restarts}"]
    parts += [f"{e.reason} x{e.count}" for e in ev.events if e.reason == "SandboxChanged"]
    parts += [n.split("(", 1)[1].split(")", 1)[0] for n in ev.notes
              if n.startswith("init containers re-ran (")]
    if ev.restart_interval_s:
        parts.append(f"every {ev.restart_interval_s:.0f}s")
    landed = host.get("cgroup_unified") or host.get("cgroup_memory")
    if landed:
        parts.append(f"container in {landed} (inside the pod cgroup: "
                     f"{host.get('in_pod_cgroup', '?')})")
    if "missing controllers" in ev.error:
        parts.append("kubelet: " + ev.error.split("first: ", 1)[-1])
    return f"{where}: " + "; ".join(parts)
