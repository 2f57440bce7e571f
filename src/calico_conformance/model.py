"""The one canonical result model.

Every cell, whichever tier produced it, ends as a :class:`CellResult`; a run is a
:class:`Matrix` of them plus :class:`RunMeta`. Everything is a frozen dataclass
that round-trips through JSON (``to_json``/``from_json``) so Markdown, HTML and
JUnit can be rebuilt from stored files without a cluster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .typedjson import from_dict as from_dict
from .typedjson import loads as loads
from .typedjson import to_dict as to_dict

# 2: matrix.json is lean and pooled (matrixfile.py); 1 (everything inline) is still read.
SCHEMA_VERSION = 2
MAX_REPEAT = 100  # repeats tell a flake from a failure; a hundred of each cell is plenty


class Verdict(str, Enum):
    """What a kind cell observed (or a probe cell saw inside containerd)."""

    STABLE = "stable"
    RESTARTS = "restarts"
    NEVER_READY = "never-ready"
    FLAPPING = "flapping"
    NOT_STARTED = "not-started"
    CLUSTER_FAILS = "cluster-fails"
    UNKNOWN = "unknown"
    # Probe tier (real containerd, no cluster).
    CONFIG_REJECTED = "config-rejected"
    CRI_UNAVAILABLE = "cri-unavailable"
    SANDBOX_FAILS = "sandbox-fails"
    CONTAINER_FAILS = "container-fails"
    CONTAINER_EXITS = "container-exits"
    # Node tier: the container runs outside its pod cgroup (runc's cgroup driver is not the
    # kubelet's). On cgroup v2 the kubelet kills it (restarts); on v1 the kill never comes.
    MISPLACED = "misplaced"


class Outcome(str, Enum):
    """The verdict judged against the variant's expectation."""

    PASS = "pass"  # expected stable, was stable
    FAIL = "fail"  # expected stable, was not; or an unexpected failure class
    XFAIL = "xfail"  # known-bad configuration broke the way it is expected to
    XPASS = "xpass"  # known-bad configuration was stable: the expectation is stale
    UNKNOWN = "unknown"  # our infrastructure failed; says nothing about the config
    OBSERVED = "observed"  # no expectation declared; the verdict is reported as is
    PREDICTED = "predicted"  # not run on kind: predicted from the probe tier
    NOT_TESTED = "not-tested"  # ran, but could not test what the variant is about


class Tier(str, Enum):
    KIND = "kind"
    PROBE = "probe"
    NODE = "node"  # a kind-style node container (systemd PID 1) with an emulated kubelet


@dataclass(frozen=True)
class Axes:
    calico: str  # "v3.28.2"; "-" for probe cells
    variant: str
    point: str  # matrix point id, e.g. "k8s1.28"
    kubernetes: str = ""
    kind: str = ""
    containerd: str = ""
    node_image: str = ""
    tier: Tier = Tier.KIND
    backend: str = ""  # node cells: "docker" | "vm", what ran the node
    cgroup: str = ""  # node cells: "v1" | "v2", the cgroup version the verdict was seen on


@dataclass(frozen=True)
class Finding:
    """A preflight lint finding against one exact TOML table/key."""

    code: str
    severity: str  # "error" | "warning" | "info"
    message: str
    table: str = ""
    key: str = ""
    predicted: str = ""  # a Verdict value, or ""
    references: tuple[str, ...] = ()
    fix: str = ""
    path: str = ""
    line: int | None = None
    # Where ``predicted`` comes from: "observed: <tier, node, containerd, cgroup, date>" when
    # a real tier saw it, else "from the literature only: <link>" (lint/provenance.py).
    basis: str = ""


@dataclass(frozen=True)
class PodRow:
    """One row of the failure table."""

    pod: str
    node: str
    restarts_delta: int
    last_reason: str
    exit_code: int | None
    ready: bool


@dataclass(frozen=True)
class EventSummary:
    reason: str
    message: str
    count: int = 1
    object: str = ""


@dataclass(frozen=True)
class TimelinePoint:
    """A moment worth drawing: seconds since the watch started."""

    t: float
    kind: str  # "ready" | "not-ready" | "restart" | "event"
    pod: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Evidence:
    first_failure_s: float | None = None
    restart_times_s: tuple[float, ...] = ()
    restart_interval_s: float | None = None
    restarts: int = 0
    exit_codes: tuple[int, ...] = ()
    reasons: tuple[str, ...] = ()
    probe_message: str = ""
    error: str = ""  # kind's stderr, containerd's log line, or our infra error
    events: tuple[EventSummary, ...] = ()
    pods: tuple[PodRow, ...] = ()
    timeline: tuple[TimelinePoint, ...] = ()
    watched_s: float = 0.0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConfigCheck:
    """What the node really runs, against what the suite predicted."""

    status: str = "not-checked"  # "match" | "differs" | "not-checked"
    containerd_version: str = ""
    kubelet_cgroup_driver: str = ""
    differences: tuple[str, ...] = ()
    skipped_patches: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()  # settings the probe changed for the host
    host: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CellResult:
    cell_id: str
    axes: Axes
    expected: str  # a Verdict value, or "" when the variant declares none
    verdict: Verdict
    subtype: str = ""
    outcome: Outcome = Outcome.OBSERVED
    untested_upstream: bool = False
    evidence: Evidence = field(default_factory=Evidence)
    config_check: ConfigCheck = field(default_factory=ConfigCheck)
    findings: tuple[Finding, ...] = ()
    artifacts: str = ""
    started_at: str = ""
    finished_at: str = ""
    repeat: int = 1
    references: tuple[str, ...] = ()
    fix: str = ""
    description: str = ""
    not_tested: str = ""  # why the verdict says nothing about the variant's point, or ""


@dataclass(frozen=True)
class RunMeta:
    run_id: str
    suite_version: str
    profile: str
    tier: str = "kind"
    started_at: str = ""
    finished_at: str = ""
    soak_s: float = 0.0  # kind cells: the soak window
    full_soak: bool = False
    probe_window_s: float = 0.0  # probe cells: how long the container had to keep running
    repeat: int = 1
    command_line: str = ""
    kind_versions: tuple[str, ...] = ()
    node_images: tuple[str, ...] = ()
    calico_sha256: dict[str, str] = field(default_factory=dict)
    docker_version: str = ""
    planned_cells: tuple[Axes, ...] = ()
    planned_ids: tuple[str, ...] = ()
    images: dict[str, str] = field(default_factory=dict)  # preloaded image -> digest
    # The user's own --variant files (not the profile's), and how they ran: "as-is" (the
    # node's whole config) or "patch over kind <version>'s base config".
    user_variants: tuple[str, ...] = ()
    variant_mode: str = ""


@dataclass(frozen=True)
class Matrix:
    run: RunMeta
    cells: tuple[CellResult, ...]
    complete: bool = True
    schema_version: int = SCHEMA_VERSION


# --- JSON (the typed reader lives in typedjson; re-exported here) ------------------------

def to_json(obj: Any) -> str:
    return json.dumps(to_dict(obj), indent=2, sort_keys=False) + "\n"


def cell_from_json(text: str) -> CellResult:
    return from_dict(CellResult, loads(text))
