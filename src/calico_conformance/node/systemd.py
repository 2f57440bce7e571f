"""The systemd D-Bus calls runc's systemd cgroup manager makes for the kubelet, in a node.

runc libcontainer/cgroups/systemd (the kubelet's vendored manager): ``Apply`` starts a
slice as a transient unit with Description, ``Wants=<parent slice>``, the accounting
properties and ``DefaultDependencies=false`` (v1.go: BlockIOAccounting; v2.go:
IOAccounting); ``Set`` is ``SetUnitProperties`` (CPUShares on v1, CPUWeight on v2)
followed by writing the same value to the cgroup file; ``Destroy`` is ``StopUnit``,
waiting at most 1 s for the job (common.go stopUnit). Every call runs through
``busctl`` inside the node, so it reaches the node's own systemd, whatever the backend.
"""

from __future__ import annotations

from ..errors import ProbeError
from .backend import Node

MANAGER = ("org.freedesktop.systemd1", "/org/freedesktop/systemd1",
           "org.freedesktop.systemd1.Manager")


def _props(props: list[tuple[str, str, str]]) -> list[str]:
    argv = [str(len(props))]
    for name, sig, value in props:
        argv += [name, sig, *value.split(" ", 1)] if sig == "as" else [name, sig, value]
    return argv


def start_slice(node: Node, unit: str, parent: str, v2: bool, notes: list[str]) -> None:
    """StartTransientUnit of a slice, as runc's Apply does (nothing if it is active)."""
    if node.exec("systemctl", "is-active", unit)[1] == "active":
        return
    io = "IOAccounting" if v2 else "BlockIOAccounting"
    props = [("Description", "s", f"libcontainer container {unit}"),
             ("Wants", "as", f"1 {parent}"), ("MemoryAccounting", "b", "true"),
             ("CPUAccounting", "b", "true"), (io, "b", "true"),
             ("TasksAccounting", "b", "true"), ("DefaultDependencies", "b", "false")]
    for attempt in (props, [p for p in props if p[0] != io]):
        # "--": the root slice's name "-.slice" must not parse as an option.
        rc, out = node.exec("busctl", "--", "call", *MANAGER, "StartTransientUnit",
                            "ssa(sv)a(sa(sv))", unit, "replace", *_props(attempt), "0")
        if rc == 0:
            break
        if attempt is not props:
            raise ProbeError(f"systemd refused slice {unit}: {out}")
        notes.append(f"StartTransientUnit {unit} without {io} (systemd said: {out})")
    for _ in range(50):
        if node.exec("systemctl", "is-active", unit)[1] == "active":
            return
        node.clock.sleep(0.1)
    raise ProbeError(f"slice {unit} did not become active")


def set_properties(node: Node, unit: str, props: list[tuple[str, str, str]]) -> str:
    """SetUnitProperties (runtime only); "" or what systemd said when it refused."""
    rc, out = node.exec("busctl", "--", "call", *MANAGER, "SetUnitProperties", "sba(sv)",
                        unit, "true", *_props(props))
    return "" if rc == 0 else out


def control_group(node: Node, unit: str) -> str:
    """The unit's cgroup path as systemd has it ("" when it has none)."""
    return node.exec("systemctl", "show", "-P", "ControlGroup", unit)[1].strip()


def stop_unit(node: Node, unit: str, notes: list[str]) -> None:
    node.exec("systemctl", "stop", "--no-block", unit)
    for _ in range(10):
        if node.exec("systemctl", "is-active", unit)[1] != "deactivating":
            return
        node.clock.sleep(0.1)
    notes.append(f"StopUnit {unit}: still deactivating after 1 s")
