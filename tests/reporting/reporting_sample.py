"""A sample matrix with every kind of cell, for the reporting tests and goldens.

Timestamps are real (now) and cluster names random, like a real run, so the golden
tests must normalise them (:func:`normalise`) to stay stable.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from calico_conformance.model import (
    Axes,
    CellResult,
    ConfigCheck,
    EventSummary,
    Evidence,
    Finding,
    Matrix,
    Outcome,
    PodRow,
    RunMeta,
    Tier,
    TimelinePoint,
    Verdict,
)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "reports" / "schema" / "matrix.schema.json"
HOSTILE = '<script>alert("pwned")</script> & <img src=x onerror=alert(1)> | `tick` *bold*'
POINTS = {"k8s1.28": ("1.28", "v0.24.0", "1.7.18"), "k8s1.31": ("1.31", "v0.24.0", "1.7.18")}
UNTESTED = {("v3.26.4", "k8s1.31"), ("v3.28.2", "k8s1.31")}

_TS = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d| UTC)?")
_CLUSTER = re.compile(r"\bcc-[0-9a-f]{6}\b")  # our kind cluster names
_POD = re.compile(r"\bcalico-node-[a-z0-9]{5}\b")  # a DaemonSet pod's random suffix


def normalise(text: str) -> str:
    text = _TS.sub("<TIMESTAMP>", text)
    return _POD.sub("calico-node-RANDOM", _CLUSTER.sub("cc-RANDOM", text))


def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


def axes(calico: str, variant: str, point: str) -> Axes:
    if calico == "-":
        return Axes("-", variant, point, kind="v0.24.0", containerd="1.6.20", tier=Tier.PROBE)
    k8s, kind, ctrd = POINTS[point]
    return Axes(calico, variant, point, kubernetes=k8s, kind=kind, containerd=ctrd,
                node_image=f"kindest/node:v{k8s}.0", tier=Tier.KIND)


def cell_id(calico: str, variant: str, point: str) -> str:
    return f"probe-{variant}-{point[6:]}" if calico == "-" else f"{calico}-{variant}-{point}"


class Clock:
    """Hands out start/finish stamps a fixed 90 s apart, starting now."""

    def __init__(self) -> None:
        self.t = datetime.now(timezone.utc).replace(microsecond=0)

    def span(self) -> tuple[str, str]:
        start = self.t
        self.t += timedelta(seconds=100)
        return start.isoformat(), (start + timedelta(seconds=90)).isoformat()


def cell(clock: Clock, calico: str, variant: str, point: str, verdict: Verdict,
         outcome: Outcome, expected: str = "", **kw: Any) -> CellResult:
    start, end = clock.span()
    return CellResult(cell_id=cell_id(calico, variant, point), axes=axes(calico, variant, point),
                      expected=expected, verdict=verdict, outcome=outcome,
                      untested_upstream=(calico, point) in UNTESTED, started_at=start,
                      finished_at=end, **kw)


CGROUP_FINDING = Finding(
    code="CC101", severity="error",
    message="runc SystemdCgroup=false while the kubelet cgroupDriver is systemd",
    table='plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options',
    key="SystemdCgroup", predicted="restarts",
    references=("https://github.com/kubernetes/kubernetes/issues/110177",),
    fix="Set SystemdCgroup = true", path="clusters/containerd/systemd-cgroup-off.toml", line=7)


def restart_evidence(name: str) -> Evidence:
    pod = f"calico-node-{name[:5]}"
    return Evidence(
        first_failure_s=62.0, restart_times_s=(62.0, 124.0, 190.0), restart_interval_s=64.0,
        restarts=3, exit_codes=(0,), reasons=("Completed",),
        probe_message="calico/node is not ready: BIRD is not ready: BGP not established",
        events=(EventSummary("SandboxChanged", "Pod sandbox changed, it will be killed and "
                             "re-created.", 4, f"pod/{pod}"),
                EventSummary("Unhealthy", HOSTILE, 2, f"pod/{pod}")),
        pods=(PodRow(pod, "cc-node-worker", 3, "Completed", 0, False),
              PodRow("calico-node-b2", "cc-node-control-plane", 0, "", None, True)),
        timeline=(TimelinePoint(20.0, "ready", pod), TimelinePoint(60.0, "not-ready", pod),
                  TimelinePoint(62.0, "restart", pod, "exit 0 Completed"),
                  TimelinePoint(63.0, "event", pod, f"SandboxChanged: {HOSTILE}"),
                  TimelinePoint(90.0, "ready", pod), TimelinePoint(124.0, "restart", pod),
                  TimelinePoint(126.0, "not-ready", pod), TimelinePoint(150.0, "ready", pod),
                  TimelinePoint(190.0, "restart", pod), TimelinePoint(22.0, "ready",
                                                                      "calico-node-b2")),
        watched_s=240.0,
        notes=("exit 0 is a kill: calico-node runs runsvdir as PID 1, which exits 0 on SIGTERM",))


def sample_cells() -> list[CellResult]:
    c, rnd = Clock(), secrets.token_hex(3)
    cluster = f"cc-{rnd}"
    stable = Evidence(watched_s=240.0, timeline=(TimelinePoint(25.0, "ready", "calico-node-a1"),))
    cgroup = dict(description="runc uses cgroupfs while the kubelet uses systemd.",
                  references=("https://github.com/containerd/containerd/issues/7276",),
                  fix="Set SystemdCgroup = true under the runc options.",
                  findings=(CGROUP_FINDING,))
    cells = [
        *(cell(c, "v3.26.4", "baseline", "k8s1.28", Verdict.STABLE, Outcome.PASS, "stable",
               evidence=stable, repeat=r) for r in (1, 2, 3)),
        cell(c, "v3.26.4", "systemd-cgroup-off", "k8s1.28", Verdict.RESTARTS, Outcome.XFAIL,
             "restarts", subtype="killed-exit-0", evidence=restart_evidence(rnd),
             artifacts=f"reports/run/artifacts/{cluster}",
             config_check=ConfigCheck("match", "1.7.18", "systemd"), **cgroup),
        cell(c, "v3.26.4", "report-9524", "k8s1.28", Verdict.RESTARTS, Outcome.OBSERVED,
             subtype="crashloop-backoff", evidence=restart_evidence(rnd), repeat=1),
        cell(c, "v3.26.4", "report-9524", "k8s1.28", Verdict.STABLE, Outcome.OBSERVED,
             evidence=stable, repeat=2),
        cell(c, "v3.26.4", "report-9524", "k8s1.28", Verdict.RESTARTS, Outcome.OBSERVED,
             subtype="crashloop-backoff", evidence=restart_evidence(rnd), repeat=3),
        cell(c, "v3.26.4", "sandbox-image-pause-3.6", "k8s1.28", Verdict.NOT_STARTED,
             Outcome.FAIL, "stable", subtype="FailedCreatePodSandBox",
             evidence=Evidence(error="failed to pull image registry.k8s.io/pause:3.6",
                               events=(EventSummary("FailedCreatePodSandBox", "rpc error", 9),)),
             config_check=ConfigCheck("differs", "1.7.18", "systemd",
                                      differences=("sandbox_image: pause:3.6 != pause:3.9",),
                                      skipped_patches=("containerdConfigPatches[1]: version 3",))),
        cell(c, "v3.26.4", "cri-disabled", "k8s1.28", Verdict.CLUSTER_FAILS, Outcome.XFAIL,
             "cluster-fails", subtype="kind-create",
             evidence=Evidence(error=f"ERROR: failed to create cluster {cluster}: \x1b[31m"
                               "kubeadm init failed\x1b[0m\n```\ncri plugin disabled\n```")),
        cell(c, "v3.28.2", "baseline", "k8s1.28", Verdict.STABLE, Outcome.PASS, "stable",
             evidence=stable),
        cell(c, "v3.28.2", "baseline", "k8s1.31", Verdict.NEVER_READY, Outcome.FAIL, "stable",
             subtype="bird", evidence=Evidence(
                 probe_message="calico/node is not ready: BIRD is not ready", watched_s=240.0,
                 first_failure_s=180.0,
                 timeline=(TimelinePoint(3.0, "not-ready", "calico-node-z9"),))),
        cell(c, "v3.28.2", "systemd-cgroup-off", "k8s1.28", Verdict.STABLE, Outcome.XPASS,
             "restarts", evidence=stable, **cgroup),
        cell(c, "v3.28.2", "systemd-cgroup-off", "k8s1.31", Verdict.RESTARTS, Outcome.PREDICTED,
             "restarts", evidence=Evidence(notes=("predicted from the probe tier",)), **cgroup),
        cell(c, "v3.28.2", "report-9524", "k8s1.28", Verdict.STABLE, Outcome.OBSERVED,
             evidence=stable),
        cell(c, "v3.28.2", "kubelet-cgroupfs", "k8s1.28", Verdict.FLAPPING, Outcome.FAIL,
             "stable", subtype="readiness", evidence=Evidence(
                 watched_s=240.0, timeline=(
                     TimelinePoint(20.0, "ready", "calico-node-q"),
                     TimelinePoint(80.0, "not-ready", "calico-node-q"),
                     TimelinePoint(110.0, "ready", "calico-node-q"),
                     TimelinePoint(200.0, "not-ready", "calico-node-q")))),
        cell(c, "v3.28.2", "undefined-default-runtime", "k8s1.28", Verdict.UNKNOWN,
             Outcome.UNKNOWN, "stable", subtype="infrastructure",
             evidence=Evidence(error="docker: Cannot connect to the Docker daemon")),
        cell(c, "-", "systemd-cgroup-off", "probe-v0.24.0", Verdict.STABLE, Outcome.PASS, "stable"),
        cell(c, "-", "cri-disabled", "probe-v0.24.0", Verdict.CRI_UNAVAILABLE, Outcome.XFAIL,
             "cri-unavailable", evidence=Evidence(error="unknown service runtime.v1")),
        cell(c, "-", "config-version-3", "probe-v0.24.0", Verdict.CONFIG_REJECTED, Outcome.XFAIL,
             "config-rejected", evidence=Evidence(error="unsupported config version 3")),
        cell(c, "-", "runsc-default-no-shim", "probe-v0.24.0", Verdict.SANDBOX_FAILS, Outcome.FAIL,
             "stable"),
        cell(c, "-", "sandbox-image-pause-3.6", "probe-v0.24.0", Verdict.CONTAINER_FAILS,
             Outcome.OBSERVED),
        cell(c, "-", "report-9524", "probe-v0.24.0", Verdict.CONTAINER_EXITS, Outcome.OBSERVED,
             evidence=Evidence(exit_codes=(0,))),
    ]
    return cells


def sample_meta(cells: list[CellResult], run_id: str = "run-sample",
                finished: bool = True) -> RunMeta:
    kind_cells = list({c.cell_id: c for c in cells if c.axes.tier is Tier.KIND}.values())
    return RunMeta(run_id=run_id, suite_version="0.1.0", profile="default", tier="kind",
                   started_at=cells[0].started_at,
                   finished_at=cells[-1].finished_at if finished else "",
                   soak_s=240.0, repeat=1, command_line="pytest suites -p calico_conformance",
                   kind_versions=("v0.24.0",), node_images=("kindest/node:v1.28.0",),
                   calico_sha256={"v3.26.4": "0" * 64, "v3.28.2": "1" * 64},
                   docker_version="27.0.3",
                   planned_cells=tuple(c.axes for c in kind_cells),
                   planned_ids=tuple(c.cell_id for c in kind_cells))


def sample_matrix() -> Matrix:
    cells = sample_cells()
    return Matrix(run=sample_meta(cells), cells=tuple(cells), complete=True)
