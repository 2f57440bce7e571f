"""Session state and the cell runner behind the pytest plugin.

The plugin module stays a thin layer of options, fixtures and hooks; what a
session *does* (preflight, run a cell, store its result, judge it, summarise the
run) lives here so it reads top to bottom.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from . import __version__
from .catalog import Catalog
from .cells import Cell, KindRelease, Profile, Variant
from .clock import Clock
from .errors import ConformanceError, InputError
from .model import Axes, CellResult, Matrix, Outcome, RunMeta, Tier, Verdict
from .verdict import Thresholds

PREDICTABLE = {Verdict.CONFIG_REJECTED, Verdict.CRI_UNAVAILABLE}


class ExpectedBreakage(AssertionError):
    """A known-bad cell broke the way its variant says: a strict xfail."""


def failure_message(result: CellResult) -> str:
    """The evidence table: what a platform engineer reads first."""
    ev = result.evidence
    head = f"{result.cell_id}: {result.verdict.value}" + (
        f" ({result.subtype})" if result.subtype else "") + (
        f", expected {result.expected}" if result.expected else "")
    lines = [head]
    if ev.pods:
        rows = [("POD", "NODE", "RESTARTS Δ", "LAST REASON", "EXIT", "READY")]
        rows += [(p.pod, p.node, str(p.restarts_delta), p.last_reason or "-",
                  "-" if p.exit_code is None else str(p.exit_code), "yes" if p.ready else "no")
                 for p in ev.pods]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                  for r in rows]
    if ev.restart_interval_s is not None:
        lines.append(f"  restart interval ≈ {ev.restart_interval_s:.0f}s")
    if ev.probe_message:
        lines.append(f"  probe: {ev.probe_message}")
    if ev.error:
        err = ev.error.strip().splitlines()
        lines.append("  error: " + (err[-1] if err else ""))
    lines += [f"  note: {n}" for n in ev.notes]
    for d in result.config_check.differences[:5]:
        lines.append(f"  node config differs: {d}")
    for s in result.config_check.skipped_patches:
        lines.append(f"  {s}")
    lines.append(f"  artifacts: {result.artifacts or '(none)'}")
    return "\n".join(lines)


@dataclass
class SessionState:
    catalog: Catalog
    profile: Profile
    run_id: str
    reports_dir: Path
    tier: str
    plan: bool
    soak_s: float | None
    full_soak: bool
    ready_grace_s: float
    keep: str
    repeat: int
    kind_bin: str | None
    cache_dir: Path
    manifest_dir: Path | None
    registry: str | None
    baseline: Path | None
    containerd_bin: str | None
    probe_window_s: float
    command_line: str
    clock: Clock
    node_images: str = "*"  # --node-images: recipe names under clusters/nodes (glob/comma list)
    node_window_s: float = 30.0
    plan_summary: Any = None
    notes: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)
    probe_results: dict[tuple[str, str], CellResult] = field(default_factory=dict)
    kind_bins: dict[str, str] = field(default_factory=dict)
    kind_versions: dict[str, str] = field(default_factory=dict)  # what the binaries report
    docker_version: str = ""
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    matrix: Matrix | None = None  # the assembled run, once finished
    _store: Any = None
    _runner: CellRunner | None = None

    @property
    def run_dir(self) -> Path:
        return self.reports_dir / self.run_id

    def probe_variants(self) -> list[tuple[Variant, str]]:
        kinds = sorted({c.point.kind.version for c in self.profile.cells})
        variants = sorted({c.variant.name: c.variant for c in self.profile.cells}.items())
        return [(v, k) for _, v in variants for k in kinds]

    def node_targets(self) -> list[tuple[Variant, str]]:
        """Every profile variant on every selected node recipe (clusters/nodes)."""
        import fnmatch

        from .node.recipes import load_recipes

        recipes = load_recipes(self.catalog.root)
        pats = [p.strip() for p in self.node_images.split(",") if p.strip()]
        names = [r for r in recipes if any(fnmatch.fnmatchcase(r, p) for p in pats)]
        if not names:
            raise InputError(f"--node-images {self.node_images!r} matches no recipe "
                             f"(known: {', '.join(recipes)})")
        variants = sorted({c.variant.name: c.variant for c in self.profile.cells}.items())
        return [(v, r) for _, v in variants for r in names]

    def kind_release(self, version: str) -> KindRelease:
        return self.catalog.kind[version]

    # --- planning and preflight ----------------------------------------------------------------

    def write_plan(self) -> Any:
        from .kindtier import cluster_name
        from .plan import write_plan

        return write_plan(self.profile.cells, self.run_dir / "plan",
                          cluster_name=lambda c: cluster_name(self.run_id, c))

    def preflight(self, cells: list[Cell]) -> str | None:
        """One clear line when live runs cannot work here; None when they can."""
        from . import kindtier, tools

        try:
            self.docker_version = tools.docker_info()
            for version in sorted({c.point.kind.version for c in cells}):
                self.kind_bins[version] = kindtier.resolve_kind(
                    self.kind_bin, self.kind_release(version), self.cache_dir)
                found = tools.kind_version(self.kind_bins[version])
                self.kind_versions[version] = "v" + ".".join(map(str, found))
                if self.kind_versions[version] != version:
                    self.notes.append(f"note: cells of kind {version} run with "
                                      f"{self.kind_bins[version]} ({self.kind_versions[version]})"
                                      f"; node image digests are only valid with {version}")
        except InputError as exc:
            return exc.one_line()
        except ConformanceError as exc:
            said = str(exc).rstrip(". ")
            said += " " if said.endswith(("?", "!")) else ". "
            return (f"calico-conformance: {said}Live cells need Docker >= 20.10 and kind >= "
                    f"v0.20. Without them: `pytest --plan` writes the plan, `pytest --tier probe` "
                    f"runs the containerd probe, `pytest tests` runs the self-tests.")
        return None

    # --- storage -------------------------------------------------------------------------------

    def meta(self, planned: list[Cell] | None = None,
             probes: list[tuple[Variant, str]] | None = None) -> RunMeta:
        cells = list(self.profile.cells) if planned is None else planned
        probe_axes = self.probe_axes(probes or [])
        return RunMeta(
            run_id=self.run_id, suite_version=__version__, profile=self.profile.name,
            tier=self.tier, started_at=self.started_at,
            soak_s=self.soak_s or self.profile.soak_s, full_soak=self.full_soak,
            repeat=self.repeat, command_line=self.command_line,
            kind_versions=tuple(sorted(set(self.kind_versions.values()))) or tuple(
                sorted({c.point.kind.version for c in cells})),
            node_images=tuple(sorted({c.point.node_image for c in cells})),
            calico_sha256={c.calico.version: c.calico.sha256 for c in cells},
            docker_version=self.docker_version,
            planned_cells=tuple(a for _, a in probe_axes) + tuple(c.axes() for c in cells),
            planned_ids=tuple(i for i, _ in probe_axes) + tuple(c.id for c in cells),
        )

    def probe_axes(self, probes: list[tuple[Variant, str]]) -> list[tuple[str, Axes]]:
        """The ids and axes probe cells will have (the probe labels them the same way)."""
        if not probes:
            return []
        from .probe import host_facts

        containerd = host_facts(self.containerd_bin).containerd_semver  # once, not per cell
        return [(f"probe-{v.name}-{k}",
                 Axes(calico="-", variant=v.name, point=f"probe-{k}", kind=k,
                      containerd=containerd, tier=Tier.PROBE)) for v, k in probes]

    def open_store(self, planned: list[Cell] | None = None,
                   probes: list[tuple[Variant, str]] | None = None) -> None:
        """run.json with the cells that will run, before the first one does: a run killed
        half-way still assembles into a valid, partial matrix."""
        from .reporting.store import RunStore

        if self._store is None:
            self._store = RunStore.create(self.reports_dir,
                                          self.meta(planned or [], probes or []))

    @property
    def store(self) -> Any:
        self.open_store()
        return self._store

    def record(self, result: CellResult) -> CellResult:
        self.store.write_cell(result)
        return result

    def runner(self, config: pytest.Config) -> CellRunner:
        if self._runner is None:
            self._runner = CellRunner(self, config)
        return self._runner

    # --- the end -------------------------------------------------------------------------------

    def finish(self) -> list[str]:
        """Assemble and render the matrix; return regressions against --baseline."""
        if self.plan or self._store is None:
            return []
        matrix: Matrix = self.store.finish(datetime.now(timezone.utc).isoformat())
        regressions: list[str] = []
        if self.baseline is not None:
            from .reporting.diff import diff_matrices, render_diff_text
            from .reporting.store import load_matrix

            report = diff_matrices(load_matrix(self.baseline), matrix)
            regressions = [f"{c.key}: {c.old} -> {c.new}" for c in report.regressions]
            self.notes.append(render_diff_text(report))
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            from .reporting.markdown import render_markdown

            try:
                with open(step_summary, "a", encoding="utf-8") as fh:
                    fh.write(render_markdown(matrix) + "\n")
            except OSError as exc:
                self.notes.append(f"GITHUB_STEP_SUMMARY {step_summary}: {exc.strerror}")
        self.matrix = matrix
        return regressions

    def summary_lines(self) -> list[str]:
        lines: list[str] = []
        plan = self.plan_summary
        if self.plan and plan is not None:
            lines.append(f"calico-conformance plan: {plan.cells} cells; lint predicts "
                         f"{plan.predicted_failures} failures ({plan.errors} errors, "
                         f"{plan.warnings} warnings); agrees with {plan.agree} expectations, "
                         f"differs from {plan.disagree}; see {plan.path / 'summary.md'}")
        matrix = self.matrix
        if matrix is not None:
            from .reporting.text import render_text

            lines += ["", render_text(matrix), f"reports: {self.run_dir}"]
        lines += self.notes
        for name, kubeconfig in self.kept:
            lines.append(f"kept cluster {name}: KUBECONFIG={kubeconfig}")
        return lines


class CellRunner:
    """What the suites call: run a cell, record it, and judge it as a test."""

    def __init__(self, state: SessionState, config: pytest.Config) -> None:
        self.state = state
        self.config = config
        self._probes: tuple[tuple[Any, ...], int, str] | None = None

    def _progress(self, cell_id: str) -> Any:
        from .progress import ProgressLine

        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        if tr is None:
            return None

        def uncaptured(write: Any) -> Any:
            # The soak runs inside a test, where pytest captures output; progress must reach
            # the terminal now, as pytest's own live logging does.
            def out(line: str) -> None:
                if capman is None:
                    write(line)
                    return
                with capman.global_and_fixture_disabled():
                    write(line)
            return out

        tty = bool(getattr(tr, "isatty", False))
        return ProgressLine(cell_id, uncaptured(tr.write_line),
                            uncaptured(tr.rewrite) if tty else None, interval_s=30.0)

    def run_kind(self, cell: Cell, repeat: int = 1) -> CellResult:
        from . import kindtier
        from .lint import lint_cell

        st = self.state
        findings = lint_cell(cell)
        probe = st.probe_results.get((cell.variant.name, cell.point.kind.version))
        if probe is not None and probe.verdict in PREDICTABLE:
            result = CellResult(
                cell_id=cell.id, axes=cell.axes(), expected=cell.expected,
                verdict=Verdict.CLUSTER_FAILS, subtype=f"predicted:{probe.verdict.value}",
                outcome=Outcome.PREDICTED, untested_upstream=cell.untested_upstream,
                evidence=replace(probe.evidence, notes=(
                    *probe.evidence.notes,
                    f"predicted from the probe tier ({probe.cell_id}), not observed on kind")),
                findings=findings, references=cell.variant.references, fix=cell.variant.fix,
                description=cell.variant.description, repeat=repeat)
            return st.record(result)
        soak = st.soak_s or cell.soak_s
        settings = kindtier.KindSettings(
            kind_bin=st.kind_bins.get(cell.point.kind.version) or st.kind_bin or "kind",
            cache_dir=st.cache_dir, manifest_dir=st.manifest_dir, registry=st.registry,
            keep=st.keep, full_soak=st.full_soak, soak_s=soak,
            thresholds=Thresholds(ready_grace_s=min(st.ready_grace_s, soak / 2)))
        suffix = f"~r{repeat}" if repeat > 1 else ""
        result, kept = kindtier.run_cell(
            cell, run_id=st.run_id, cell_dir=st.run_dir / "cells" / (cell.id + suffix),
            settings=settings, clock=st.clock, repeat=repeat, progress=self._progress(cell.id))
        if kept:
            st.kept.append((kindtier.cluster_name(st.run_id, cell, repeat), kept))
        return st.record(replace(result, findings=findings))

    def run_probe(self, variant: Variant, kind_version: str, repeat: int = 1) -> CellResult:
        from .probe import ProbeSettings, probe_available, probe_variant

        st = self.state
        reason = probe_available()
        if reason:
            pytest.skip(f"probe tier unavailable here: {reason}")
        workdir = st.run_dir / "probe" / f"{variant.name}-{kind_version}"
        settings = ProbeSettings(containerd_bin=st.containerd_bin, ctr_bin=None,
                                 window_s=st.probe_window_s, workdir=workdir, clock=st.clock,
                                 keep_logs_dir=workdir / "logs")
        result = replace(probe_variant(variant, self.state.kind_release(kind_version), settings),
                         repeat=repeat)
        st.probe_results[(variant.name, kind_version)] = result
        return st.record(result)

    def run_node(self, variant: Variant, recipe_name: str, repeat: int = 1) -> CellResult:
        from .node import NodeImage, NodeSettings, node_available, run_node_cell
        from .node.docker import find_docker
        from .node.recipes import load_recipes

        st = self.state
        reason = node_available()
        if reason:
            pytest.skip(f"node tier unavailable here: {reason}")
        recipe = load_recipes(st.catalog.root)[recipe_name]
        if find_docker().image_labels(recipe.tag) is None:
            pytest.skip(f"node image {recipe.tag} is not built (run: calico-conformance nodes "
                        f"build {recipe_name})")
        probes, grace, source = self._node_probes()
        settings = NodeSettings(run_id=st.run_id, window_s=st.node_window_s, probes=probes,
                                grace_s=grace, probe_source=source, clock=st.clock,
                                keep_logs_dir=st.run_dir / "node" / f"{variant.name}-"
                                f"{recipe_name}" / "logs")
        result = replace(run_node_cell(variant, st.catalog.kind[recipe.kind],
                                       NodeImage(recipe.name, recipe.tag), settings),
                         repeat=repeat)
        return st.record(result)

    def _node_probes(self) -> tuple[tuple[Any, ...], int, str]:
        """calico-node's exec probes from the profile's newest Calico manifest (once)."""
        if self._probes is None:
            from .calico import fetch_manifest, load_documents
            from .node.prober import probe_specs

            st = self.state
            release = sorted({c.calico.version: c.calico for c in st.profile.cells}.items())[-1][1]
            try:
                docs = load_documents(fetch_manifest(release, st.cache_dir, st.manifest_dir))
                specs, grace = probe_specs(docs)
                self._probes = (tuple(specs), grace, f"Calico {release.version} manifest")
            except ConformanceError as exc:
                st.notes.append(f"node tier: no exec probes ({exc})")
                self._probes = ((), 0, "")
        return self._probes

    @staticmethod
    def judge(result: CellResult) -> None:
        """Turn a result into the test's outcome (xfail marks do the rest)."""
        msg = failure_message(result)
        if result.outcome is Outcome.PREDICTED:
            pytest.skip(f"{result.cell_id}: predicted {result.verdict.value} from the probe "
                        f"tier; no cluster spent")
        if result.outcome is Outcome.UNKNOWN:
            pytest.fail(f"infrastructure trouble, not a property of the config:\n{msg}",
                        pytrace=False)
        if result.outcome is Outcome.XFAIL:
            raise ExpectedBreakage(msg)
        if result.outcome is Outcome.FAIL:
            raise AssertionError(msg)
        # PASS, XPASS (strict xfail turns it into a failure) and OBSERVED pass here.
