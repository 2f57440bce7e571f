"""The kind tier: one real cluster per cell, Calico installed, calico-node watched.

``run_cell`` is the whole life of a cell; every step that can fail on our side
ends as an ``unknown`` verdict with the reason, never as a property of the config.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import calico as calico_mod
from . import tools
from .catalog import Cell, KindRelease
from .clock import Clock
from .containerd import parse_toml
from .errors import ConformanceError, InputError, KubeApiError, ToolError, ToolMissing
from .kindconfig import dump_kind_config, render_kind_config
from .kube import Kube
from .model import CellResult, ConfigCheck, Evidence, Verdict
from .observe import ObservationLog, cluster_failed, infra
from .verdict import Thresholds, judge, outcome
from .watch import KubeSource, Progress, soak

NAME_PREFIX = "calico-conf"
KIND_DOWNLOAD_TIMEOUT_S = 300.0


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


def cluster_name(run_id: str, cell: Cell) -> str:
    """Unique per run and cell, recognisable, short enough for node hostnames (<= 49)."""
    digest = hashlib.sha256(f"{run_id}/{cell.id}".encode()).hexdigest()[:6]
    slug = re.sub(r"[^a-z0-9]+", "-", cell.variant.name.lower()).strip("-")[:20].strip("-")
    return f"{NAME_PREFIX}-{run_id[-6:]}-{slug}-{digest}"


def resolve_kind(explicit: str | None, release: KindRelease, cache_dir: Path) -> str:
    """--kind-bin, else kind on PATH, else the pinned release download (sha256-verified)."""
    if explicit:
        path = tools.which("kind", explicit)
        if path is None:
            raise InputError(f"--kind-bin {explicit}: not an executable file")
        return path
    on_path = tools.which("kind")
    if on_path:
        return on_path
    if not release.sha256:
        raise ToolMissing(f"kind is not on PATH and kind {release.version} has no sha256 pin in "
                          f"clusters/kind/releases.toml; install kind or pass --kind-bin")
    target = cache_dir / "kind" / release.version / "kind"
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == release.sha256:
        return str(target)
    try:
        with urllib.request.urlopen(release.download_url, timeout=KIND_DOWNLOAD_TIMEOUT_S) as r:
            data = r.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ToolMissing(f"kind is not on PATH and downloading {release.download_url} "
                          f"failed: {exc}; install kind or pass --kind-bin") from exc
    got = hashlib.sha256(data).hexdigest()
    if got != release.sha256:
        raise ToolMissing(f"{release.download_url}: sha256 {got} does not match the pin "
                          f"{release.sha256}; refusing to run it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o755)
    os.replace(tmp, target)
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


def collect_artifacts(kube: Kube | None, kind_bin: str, name: str, art: Path) -> list[str]:
    """Evidence for a non-stable cell; each step is best effort and says what failed."""
    problems: list[str] = []
    art.mkdir(parents=True, exist_ok=True)
    res = tools.kind_export_logs(kind_bin, name, art / "kind-logs")
    if not res.ok:
        problems.append(f"kind export logs: {tools.last_line(res.stderr)}")
    if kube is None:
        return problems
    try:
        pods = kube.list_pods("kube-system", "k8s-app=calico-node")
        (art / "calico-node-pods.json").write_text(json.dumps(pods, indent=2))
        (art / "kube-system-events.json").write_text(
            json.dumps(kube.list_events("kube-system"), indent=2))
        for pod in pods.get("items") or []:
            pname = pod["metadata"]["name"]
            for previous in (False, True):
                suffix = ".previous" if previous else ""
                try:
                    text = kube.pod_log("kube-system", pname, "calico-node", previous)
                except KubeApiError as exc:
                    text = f"(not available: {exc})\n"
                (art / f"{pname}{suffix}.log").write_text(text)
    except KubeApiError as exc:
        problems.append(str(exc))
    return problems


def install_calico(kube: Kube, cell: Cell, settings: KindSettings) -> None:
    data = calico_mod.fetch_manifest(cell.calico, settings.cache_dir, settings.manifest_dir)
    docs = calico_mod.patch_documents(calico_mod.load_documents(data, cell.calico.manifest_url),
                                      pod_cidr=cell.pod_subnet, registry=settings.registry)
    crds, rest = calico_mod.split_crds(docs)
    for doc in crds:
        kube.apply(doc)
    kube.wait_crds_established([d["metadata"]["name"] for d in crds])
    for doc in rest:
        kube.apply(doc)


def run_cell(cell: Cell, *, run_id: str, cell_dir: Path, settings: KindSettings, clock: Clock,
             progress: Callable[[Progress], None] | None = None) -> tuple[CellResult, str | None]:
    """One cell, start to finish. Returns the result and the kept kubeconfig, if kept."""
    name = cluster_name(run_id, cell)
    cell_dir.mkdir(parents=True, exist_ok=True)
    cfg_path = cell_dir / "kind-config.yaml"
    cfg_path.write_text(dump_kind_config(render_kind_config(cell, name)))
    kubeconfig = cell_dir / "kubeconfig"
    log = ObservationLog(cell_dir / "observations.jsonl")
    started = clock.now().isoformat()
    cluster = tools.ConformanceCluster(name, kubeconfig, Path(settings.kind_bin), cell_dir)
    kube: Kube | None = None
    check = ConfigCheck(skipped_patches=tuple(s.describe() for s in cell.effective.skipped))
    watched = 0.0
    created = False
    try:
        try:
            cluster.create(cfg_path)
            created = True
        except ToolError as exc:
            if isinstance(exc, ToolMissing) or exc.returncode is None:
                raise  # kind missing or timed out: our trouble, not the config's
            created = cluster.name in tools.kind_get_clusters(settings.kind_bin)
            (cell_dir / "kind-create.stderr").write_text(exc.stderr)
            log.append(cluster_failed(0.0, clock.now().isoformat(), exc.stderr or str(exc)))
        else:
            (cell_dir / "kind-create.stderr").write_text(cluster.create_stderr)
            nodes = tools.kind_get_nodes(settings.kind_bin, name)
            nodes_dir = cell_dir / "nodes"
            nodes_dir.mkdir(exist_ok=True)
            check = check_nodes(cell, nodes, settings.docker, nodes_dir)
            kube = Kube(kubeconfig)
            kube.wait_api_ready()
            source = KubeSource(kube)
            source.start(clock)  # watch from install on
            try:
                install_calico(kube, cell, settings)
            except ConformanceError:
                source.close()
                raise
            result = soak(source, clock, settings.soak_s or cell.soak_s, log,
                          thresholds=settings.thresholds, full_soak=settings.full_soak,
                          progress=progress, started=True)
            watched = result.watched_s
            for note in result.resumes:
                (cell_dir / "watch-resumes.log").open("a").write(note + "\n")
    except ConformanceError as exc:
        log.append(infra(watched, clock.now().isoformat(), f"{type(exc).__name__}: {exc}"))
    finally:
        log.close()
    verdict, subtype, evidence = judge(log.items, settings.thresholds, watched or None)
    art = ""
    if verdict is not Verdict.STABLE:
        art_dir = cell_dir / "artifacts"
        problems = collect_artifacts(kube, settings.kind_bin, name, art_dir) if created else []
        shutil.copy(cfg_path, art_dir / "kind-config.yaml") if art_dir.exists() else None
        art = str(art_dir)
        if problems:
            evidence = _with_notes(evidence, [f"artifact collection: {p}" for p in problems])
    if kube is not None:
        kube.close()
    keep = created and (settings.keep == "all" or (
        settings.keep == "failed" and verdict is not Verdict.STABLE))
    if created and not keep:
        cluster.delete()
    expected = cell.expected
    res = CellResult(
        cell_id=cell.id, axes=cell.axes(), expected=expected, verdict=verdict, subtype=subtype,
        outcome=outcome(expected, verdict), untested_upstream=cell.untested_upstream,
        evidence=evidence, config_check=check, artifacts=art, started_at=started,
        finished_at=clock.now().isoformat(), references=cell.variant.references,
        fix=cell.variant.fix, description=cell.variant.description)
    return res, (str(kubeconfig) if keep else None)


def _with_notes(ev: Evidence, notes: list[str]) -> Evidence:
    from dataclasses import replace

    return replace(ev, notes=ev.notes + tuple(notes))
