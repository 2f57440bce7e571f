"""A node cell as ``kubectl describe pod`` would show its calico-node pod: pure, from the
stored result alone.

The node tier runs no API server, so this is what the kubelet would have published for
what the emulated kubelet did: the container's Last State (the reason and exit code CRI
reported after the last kill), its Restart Count, the install-cni init container's re-runs
(a new sandbox runs init containers again: kuberuntime_manager.go computePodActions), and
the SandboxChanged and Killing events. Feeding it to ``calico-conformance analyze`` gives
the cell's own verdict, so a user's paste and a node cell are judged by the same engine.
"""

from __future__ import annotations

from ..model import CellResult, Verdict


def _events(result: CellResult, minutes: int) -> list[str]:
    ev = result.evidence
    rows = []
    for e in ev.events:
        kind = "Normal" if e.reason in ("Killing", "Pulled", "Started") else "Warning"
        age = f"{max(1, minutes // 2)}m (x{e.count} over {minutes}m)" if e.count > 1 else \
            f"{max(1, minutes // 2)}m"
        rows.append(f"  {kind:<8} {e.reason:<14} {age:<20} kubelet  {e.message}")
    return rows


def render_describe(result: CellResult) -> str:
    """The pod of a node cell; a cell that never ran a pod has no describe ("")."""
    ev = result.evidence
    if result.verdict not in (Verdict.STABLE, Verdict.RESTARTS):
        return ""
    minutes = max(1, round(ev.watched_s / 60))
    restarted = result.verdict is Verdict.RESTARTS and ev.restarts > 0
    init_reruns = next((int(n.split(" x", 1)[1].split()[0]) for n in ev.notes
                        if n.startswith("init containers re-ran (install-cni x")), 0)
    node = result.axes.point.removeprefix("node-")
    lines = [
        f"Name:             calico-node-{result.axes.variant[:12]}",
        "Namespace:        kube-system",
        f"Node:             {node}/10.0.2.15",
        "Labels:           k8s-app=calico-node",
        "Status:           Running",
        "Controlled By:    DaemonSet/calico-node",
        "Init Containers:",
        "  install-cni:",
        "    State:          Terminated",
        "      Reason:       Completed",
        "      Exit Code:    0",
        "    Ready:          True",
        f"    Restart Count:  {init_reruns}",
        "Containers:",
        "  calico-node:",
        "    State:          Running",
    ]
    if restarted:
        lines += ["    Last State:     Terminated",
                  f"      Reason:       {ev.reasons[-1] if ev.reasons else 'Error'}",
                  f"      Exit Code:    {ev.exit_codes[-1] if ev.exit_codes else 1}"]
    lines += ["    Ready:          True", f"    Restart Count:  {ev.restarts if restarted else 0}",
              "Conditions:", "  Type              Status", "  Ready             True",
              "Events:"]
    rows = _events(result, minutes)
    if rows:
        lines += ["  Type     Reason         Age                  From     Message",
                  "  ----     ------         ----                 ----     -------", *rows]
    else:
        lines.append("  <none>")
    return "\n".join(lines) + "\n"
