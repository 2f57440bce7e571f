"""The kind tier: one real cluster per cell, Calico installed, calico-node watched.

``run_cell`` is the whole life of a cell; every step that can fail on our side
ends as an ``unknown`` verdict with the reason, never as a property of the config,
and the cluster is deleted on every way out unless it is to be kept.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from . import calico as calico_mod
from . import tools
from .cells import Cell, KindRelease
from .clock import Clock
from .containerd import parse_toml
from .download import DownloadFailed, PinMismatch, fetch_pinned
from .errors import ConformanceError, InputError, KubeApiError, ToolError, ToolMissing
from .kindconfig import dump_kind_config, render_kind_config
from .kube import Kube
from .model import CellResult, ConfigCheck, Verdict
from .observe import ObservationLog, cluster_failed, infra
from .verdict import Thresholds, judge, outcome
from .watch import KubeSource, Progress, soak

NAME_PREFIX = "calico-conf"
KIND_DOWNLOAD_TIMEOUT_S = 300.0
NAMESPACE = "kube-system"


@dataclass(frozen=True)
class KindSettings:
    kind_bin: str  # resolved, verified path
    cache_dir: Path
    manifest_dir: Path | None = None
    registry: str | None = None
    keep: str = "none"  # none | failed | all
    full_soak: bool = False
    soak_s: float | None = None  # overrides the profile
    thresholds: Thresholds = field(default_factory=Thresholds)
    docker: str = "docker"


def cluster_name(run_id: str, cell: Cell, repeat: int = 1) -> str:
    """Unique per run, cell and repeat; recognisable; valid for kind (``^[a-z0-9.-]+$``)
    and short enough that ``<name>-control-plane`` is a hostname (<= 49)."""
    digest = hashlib.sha256(f"{run_id}/{cell.id}/{repeat}".encode()).hexdigest()[:6]
    run = re.sub(r"[^a-z0-9]+", "-", run_id.lower()).strip("-")[-6:].strip("-") or "run"
    slug = re.sub(r"[^a-z0-9]+", "-", cell.variant.name.lower()).strip("-")[:20].strip("-")
    return f"{NAME_PREFIX}-{run}-{slug}-{digest}"


def host_platform() -> str:
    """``<os>-<arch>`` as kind names its release binaries (linux-amd64, darwin-arm64)."""
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
    machine = platform.machine().lower()
    return f"{platform.system().lower()}-{arch.get(machine, machine)}"


def resolve_kind(explicit: str | None, release: KindRelease, cache_dir: Path) -> str:
    """The kind binary for cells of ``release``.

    ``--kind-bin`` wins (the user's choice, used for every release). Otherwise kind on
    PATH when it *is* that release (a node image digest is only valid with the kind
    release that built it), else the pinned download, verified against its sha256.
    """
    if explicit:
        path = tools.which("kind", explicit)
        if path is None:
            raise InputError(f"--kind-bin {explicit}: not an executable file")
        return path
    on_path = tools.which("kind")
    found = "kind is not on PATH"
    if on_path:
        try:
            version = tools.kind_version(on_path)
        except ToolMissing as exc:  # too old or broken: not this release either
            found = str(exc)
        else:
            if version == tools.parse_version(release.version):
                return on_path
            found = f"kind on PATH is v{'.'.join(map(str, version))}"
    plat = host_platform()
    if plat not in release.downloads:
        raise ToolMissing(f"{found}, cells of kind {release.version} need that release, and "
                          f"clusters/kind/releases.toml pins no {plat} download of it; "
                          f"install kind {release.version} or pass --kind-bin")
    url, pin = release.downloads[plat]
    target = cache_dir / "kind" / release.version / plat / "kind"
    try:
        fetch_pinned(url, pin, target, timeout_s=KIND_DOWNLOAD_TIMEOUT_S, mode=0o755)
    except PinMismatch as exc:
        raise ToolMissing(f"{exc}; refusing to run it") from exc
    except DownloadFailed as exc:
        raise ToolMissing(f"{found} and {exc}; install kind {release.version} or pass "
                          f"--kind-bin") from exc
    return str(target)


def check_nodes(cell: Cell, nodes: list[str], docker: str, out_dir: Path) -> ConfigCheck:
    """Read what each node really runs and compare it with the prediction."""
    predicted = cell.effective
    differences: list[str] = []
    versions: set[str] = set()
    drivers: set[str] = set()
    for node in nodes:
        res = tools.docker_exec(node, "cat", "/etc/containerd/config.toml", docker=docker)
        (out_dir / f"{node}.containerd-config.toml").write_text(res.stdout)
        if not res.ok:
            differences.append(f"{node}: cannot read /etc/containerd/config.toml: "
                               f"{tools.last_line(res.stderr)}")
        else:
            try:
                actual = parse_toml(res.stdout, path=f"{node}:/etc/containerd/config.toml")
            except InputError as exc:
                differences.append(exc.one_line())
            else:
                differences += [f"{node}: {d}" for d in compare(predicted.data, actual)]
        ver = tools.docker_exec(node, "containerd", "--version", docker=docker)
        parsed = tools.parse_version(ver.stdout.split(" ", 2)[-1]) if ver.ok else None
        if parsed:
            versions.add(".".join(map(str, parsed)))
        kub = tools.docker_exec(node, "cat", "/var/lib/kubelet/config.yaml", docker=docker)
        (out_dir / f"{node}.kubelet-config.yaml").write_text(kub.stdout)
        try:
            driver = str((yaml.safe_load(kub.stdout) or {}).get("cgroupDriver", ""))
        except yaml.YAMLError:
            driver = ""
        if driver:
            drivers.add(driver)
            if driver != cell.kubelet_cgroup_driver:
                differences.append(f"{node}: kubelet cgroupDriver is {driver}, predicted "
                                   f"{cell.kubelet_cgroup_driver}")
    if versions and cell.point.kind.containerd not in versions:
        differences.append(f"containerd {', '.join(sorted(versions))} on the nodes, "
                           f"kind {cell.point.kind.version} is pinned to "
                           f"{cell.point.kind.containerd}")
    return ConfigCheck(status="differs" if differences else "match",
                       containerd_version=", ".join(sorted(versions)),
                       kubelet_cgroup_driver=", ".join(sorted(drivers)),
                       differences=tuple(differences),
                       skipped_patches=tuple(s.describe() for s in predicted.skipped))


def compare(predicted: dict[str, object], actual: dict[str, object], prefix: str = "") -> list[str]:
    """Key-level differences between two parsed configs, in TOML dotted paths."""
    out: list[str] = []
    for key in sorted(set(predicted) | set(actual)):
        path = f"{prefix}.{key}" if prefix else key
        a, b = predicted.get(key, "<unset>"), actual.get(key, "<unset>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += compare(a, b, path)
        elif a != b:
            out.append(f"{path}: predicted {a!r}, node has {b!r}")
    return out


def collect_artifacts(kube: Kube | None, kind_bin: str, name: str, art: Path,
                      exists: bool) -> list[str]:
    """Evidence for a non-stable cell; each step is best effort and says what failed."""
    problems: list[str] = []
    if exists:
        try:
            res = tools.kind_export_logs(kind_bin, name, art / "kind-logs")
            if not res.ok:
                problems.append(f"kind export logs: {tools.last_line(res.stderr)}")
        except ToolError as exc:
            problems.append(f"kind export logs: {exc}")
    if kube is None:
        return problems
    try:
        pods = kube.list_pods(NAMESPACE, "k8s-app=calico-node")
        (art / "calico-node-pods.json").write_text(json.dumps(pods, indent=2))
        (art / "kube-system-events.json").write_text(
            json.dumps(kube.list_events(NAMESPACE), indent=2))
        for pod in pods.get("items") or []:
            pname = pod["metadata"]["name"]
            for previous in (False, True):
                suffix = ".previous" if previous else ""
                try:
                    text = kube.pod_log(NAMESPACE, pname, "calico-node", previous)
                except KubeApiError as exc:
                    text = f"(not available: {exc})\n"
                (art / f"{pname}{suffix}.log").write_text(text)
    except KubeApiError as exc:
        problems.append(str(exc))
    return problems


def install_calico(kube: Kube, cell: Cell, settings: KindSettings) -> None:
    """CRDs first and Established, then the rest; then every node has its calico-node pod."""
    data = calico_mod.fetch_manifest(cell.calico, settings.cache_dir, settings.manifest_dir)
    docs = calico_mod.patch_documents(calico_mod.load_documents(data, cell.calico.manifest_url),
                                      pod_cidr=cell.pod_subnet, registry=settings.registry)
    crds, rest = calico_mod.split_crds(docs)
    for doc in crds:
        kube.apply(doc)
    if crds:
        kube.wait_crds_established([d["metadata"]["name"] for d in crds])
    for doc in rest:
        kube.apply(doc)
    # Rolled out = scheduled on every node; whether the pods become Ready is the soak's job.
    kube.wait_daemonset_scheduled(NAMESPACE, "calico-node")


@dataclass
class _Life:
    """What a cell has acquired so far, so the way out can release it."""

    cluster: tools.ConformanceCluster
    kube: Kube | None = None
    source: KubeSource | None = None


def run_cell(cell: Cell, *, run_id: str, cell_dir: Path, settings: KindSettings, clock: Clock,
             repeat: int = 1, progress: Callable[[Progress], None] | None = None,
             ) -> tuple[CellResult, str | None]:
    """One cell, start to finish. Returns the result and the kept kubeconfig, if kept."""
    name = cluster_name(run_id, cell, repeat)
    cell_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = cell_dir / "kind-config.yaml"
    cfg_path.write_text(dump_kind_config(render_kind_config(cell, name)))
    kubeconfig = cell_dir / "kubeconfig"
    log = ObservationLog(cell_dir / "observations.jsonl")
    started = clock.now().isoformat()
    life = _Life(tools.ConformanceCluster(name, kubeconfig, Path(settings.kind_bin)))
    check = ConfigCheck(skipped_patches=tuple(s.describe() for s in cell.effective.skipped))
    soak_s = settings.soak_s or cell.soak_s
    origin = clock.monotonic()
    watched: float | None = None
    keep = interrupted = False
    try:
        try:
            try:
                life.cluster.create(cfg_path)
            finally:
                (cell_dir / "kind-create.stderr").write_text(life.cluster.create_stderr)
        except ToolError as exc:
            if isinstance(exc, ToolMissing) or exc.returncode is None:
                raise  # kind missing or timed out: our trouble, not the config's
            log.append(cluster_failed(0.0, clock.now().isoformat(), exc.stderr or str(exc)))
        else:
            nodes_dir = cell_dir / "nodes"
            nodes_dir.mkdir(exist_ok=True)
            check = check_nodes(cell, tools.kind_get_nodes(settings.kind_bin, name),
                                settings.docker, nodes_dir)
            life.kube = Kube(kubeconfig, cache_dir=cell_dir)
            life.kube.wait_api_ready()
            life.source = KubeSource(life.kube)
            origin = clock.monotonic()
            life.source.start(clock)  # watch from install on: the soak window starts here
            install_calico(life.kube, cell, settings)
            result = soak(life.source, clock, soak_s, log, thresholds=settings.thresholds,
                          full_soak=settings.full_soak, progress=progress, started_at=origin)
            watched = result.watched_s
            if result.resumes:
                (cell_dir / "watch-resumes.log").write_text("\n".join(result.resumes) + "\n")
    except ConformanceError as exc:
        t = min(clock.monotonic() - origin, soak_s)
        log.append(infra(t, clock.now().isoformat(), f"{type(exc).__name__}: {exc}"))
    except BaseException:
        interrupted = True  # Ctrl-C or our bug: still delete the cluster, skip the evidence
        raise
    finally:
        log.close()
        if life.source is not None:
            life.source.close()
        verdict, subtype, evidence = judge(log.items, settings.thresholds, watched)
        keep = settings.keep == "all" or (settings.keep == "failed"
                                          and verdict is not Verdict.STABLE)
        art = ""
        problems: list[str] = []
        try:
            # Only a cluster we created is ours to inspect, keep or delete. Nothing may be
            # raised from here: it would hide a Ctrl-C or lose the verdict.
            try:
                exists = life.cluster.attempted and name in tools.kind_get_clusters(
                    settings.kind_bin)
            except ToolError as exc:
                exists = False
                problems.append(f"kind get clusters: {exc}")
            if verdict is not Verdict.STABLE and not interrupted:
                art_dir = cell_dir / "artifacts"
                art_dir.mkdir(exist_ok=True)
                for f in (cfg_path, cell_dir / "kind-create.stderr"):
                    if f.exists():
                        shutil.copy(f, art_dir / f.name)
                problems += collect_artifacts(life.kube, settings.kind_bin, name, art_dir, exists)
                art = str(art_dir)
            keep = keep and exists and not interrupted
            if life.cluster.attempted and not keep:
                try:
                    life.cluster.delete()  # a no-op for kind when it is already gone
                except ToolError as exc:
                    problems.append(f"kind delete cluster {name}: {exc}")
            if problems:
                evidence = replace(evidence, notes=(
                    *evidence.notes, *(f"clean-up/evidence: {p}" for p in problems)))
        finally:
            if life.kube is not None:
                life.kube.close()
    expected = cell.expected
    res = CellResult(
        cell_id=cell.id, axes=cell.axes(), expected=expected, verdict=verdict, subtype=subtype,
        outcome=outcome(expected, verdict), untested_upstream=cell.untested_upstream,
        evidence=evidence, config_check=check, artifacts=art, started_at=started,
        finished_at=clock.now().isoformat(), references=cell.variant.references,
        fix=cell.variant.fix, description=cell.variant.description, repeat=repeat)
    return res, (str(kubeconfig) if keep else None)
