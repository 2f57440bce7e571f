"""The session's settings in typed groups, built once from the command line.

Like kopf's settings: plain frozen dataclasses, units in the field names, no
behaviour beyond the few rules that derive one setting from another (the soak
length a cell gets, and the readiness grace within it), so those rules live in one
place. Services (the clock, the report store) and discovered facts are not settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .clock import Clock, SystemClock
from .model import MAX_REPEAT as MAX_REPEAT
from .runrecord import RECORD_FILE
from .tracker import Thresholds

if TYPE_CHECKING:
    from .cells import Cell

KEEP_CHOICES = ("none", "failed", "all")
VM_MIN_WINDOW_S = 130.0  # two periodic QoS updates (60 s each) and a kill's aftermath
TIERS = ("kind", "probe", "node", "all")  # "all": probe, then node, then kind


@dataclass(frozen=True)
class RunSettings:
    """What the whole run is: its id, where it reports, which tiers, how often."""

    run_id: str
    reports_dir: Path
    tier: str = "kind"  # one of TIERS
    plan: bool = False
    repeat: int = 1
    baseline: Path | None = None
    command_line: str = ""
    run_id_chosen: bool = False  # --run-id given: it must be new, never renamed
    shard: tuple[int, int] | None = None  # (K, N): run the K-th of N balanced shards
    worker: bool = False  # an xdist worker: the controller owns the run folder
    max_slots: int = 1  # clusters and node containers alive at once, machine-wide

    @property
    def run_dir(self) -> Path:
        return self.reports_dir / self.run_id

    @property
    def record(self) -> Path:
        """The run's ``started.jsonl``: everything a cell starts is named there first."""
        return self.run_dir / RECORD_FILE

    def runs(self, tier: str) -> bool:
        return self.tier in (tier, "all")

    @property
    def runs_kind(self) -> bool:
        return self.runs("kind")


@dataclass(frozen=True)
class KindSettings:
    """How kind cells run. ``kind_bin`` is the user's ``--kind-bin`` (None: resolve per
    release); ``soak_s`` overrides the profile's soak when set."""

    cache_dir: Path
    kind_bin: str | None = None
    manifest_dir: Path | None = None
    registry: str | None = None
    keep: str = "none"  # one of KEEP_CHOICES
    full_soak: bool = False
    soak_s: float | None = None
    ready_grace_s: float = 300.0
    docker: str = "docker"
    preload_images: bool = False  # pull once on the host, load into each cluster

    def soak_for(self, cell: Cell) -> float:
        """``--soak`` wins over the profile's soak: the one precedence rule."""
        return self.soak_s or cell.soak_s

    def thresholds_for(self, cell: Cell) -> Thresholds:
        """Readiness grace is capped at half the soak, so a short soak can still fail."""
        return Thresholds(ready_grace_s=min(self.ready_grace_s, self.soak_for(cell) / 2))


@dataclass(frozen=True)
class ProbeSettings:
    """How probe cells run. ``workdir`` holds the throw-away trees (each removed after
    its probe); ``keep_logs_dir`` receives containerd's log and the config it ran."""

    workdir: Path
    containerd_bin: str | None = None
    ctr_bin: str | None = None
    window_s: float = 20.0  # how long the probe container must keep running
    clock: Clock = field(default_factory=SystemClock)
    keep_logs_dir: Path | None = None
    # False shows the raw truth on a host without systemd (see probe/overrides.py).
    emulate_systemd: bool = True
    # Runtime/shim binaries the user lets the host probe run as root (probe/hostpaths.py).
    allowed_binaries: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeSettings:
    """How node cells run: on which node images, and what the emulated kubelet does in
    each cell's window."""

    images: str = "*"  # recipe names under clusters/nodes: a glob or a comma list
    backends: str = "docker"  # what runs the nodes, a comma list of node.backend.BACKENDS
    window_s: float = 20.0  # two exec-probe periods (10 s), a daemon-reload, a containerd restart
    sync_s: float = 10.0  # kubelet resyncs at syncFrequency (1m) + on events; compressed
    churn: bool = True  # a sibling pod created and removed at every sync
    disturb: bool = True  # daemon-reload and a containerd restart during the window
    docker_bin: str | None = None
    boot_s: float = 15.0  # what a node's boot and config take, for planning (shards, pairs)
    vm_boot_s: float = 45.0  # the same for a virtual machine under emulation (TCG)

    def window_for(self, backend: str) -> float:
        """A VM (cgroup v2) node is watched long enough for two of the kubelet's periodic
        ``UpdateQOSCgroups`` (every 60 s, qos_container_manager_linux.go): what makes
        systemd drop controllers from an empty pod slice there."""
        return self.window_s if backend == "docker" else max(self.window_s, VM_MIN_WINDOW_S)

    def seconds_for(self, backend: str) -> float:
        return (self.boot_s if backend == "docker" else self.vm_boot_s) + self.window_for(backend)
