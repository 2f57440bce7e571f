"""What the suites call: run one cell on its tier, record it, and turn it into a test outcome.

The runner knows the session (settings, store, what earlier cells found) but no pytest
hook; the hooks live on :class:`~.session.ConformanceSession`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from . import kind, runrecord
from .calico import fetch_manifest, load_documents
from .cells import Cell, NodeCell, ProbeCell
from .errors import ConformanceError, ExpectedBreakage
from .lint import lint_cell
from .model import CellResult, Outcome, cell_from_json
from .parallel import slot
from .progress import ProgressLine
from .reporting.facts import failure_message
from .reporting.store import CELLS_DIR, cell_filename
from .results import build_result
from .verdict import predicted_from_probe
from .versions import parse_version

if TYPE_CHECKING:
    from .session import ConformanceSession


class CellRunner:
    def __init__(self, session: ConformanceSession, config: pytest.Config) -> None:
        self.session = session
        self.config = config
        self._probes: tuple[tuple[Any, ...], int, str] | None = None

    def _writers(self) -> tuple[Callable[[str], None], Callable[[str], None] | None] | None:
        """Write and (on a TTY) rewrite a terminal line from inside a running test."""
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        capman = self.config.pluginmanager.get_plugin("capturemanager")
        if tr is None:
            return None

        def uncaptured(write: Callable[[str], None]) -> Callable[[str], None]:
            # Cells run inside a test, where pytest captures output; progress must reach
            # the terminal now, as pytest's own live logging does.
            def out(line: str) -> None:
                if capman is None:
                    write(line)
                    return
                with capman.global_and_fixture_disabled():
                    write(line)
            return out

        tty = bool(getattr(tr, "isatty", False))
        return uncaptured(tr.write_line), (uncaptured(tr.rewrite) if tty else None)

    def _progress(self, cell_id: str) -> ProgressLine | None:
        writers = self._writers()
        if writers is None:
            return None
        return ProgressLine(cell_id, writers[0], writers[1], interval_s=30.0,
                            clock=self.session.clock)

    def _say(self, line: str) -> None:
        writers = self._writers()
        if writers is not None:
            writers[0](line)

    def run_kind(self, cell: Cell, repeat: int = 1) -> CellResult:
        s = self.session
        findings = lint_cell(cell)
        probe = self._probe_result(cell)
        predicted = predicted_from_probe(probe) if probe is not None else None
        if predicted is not None:
            verdict, subtype, evidence = predicted
            return s.record(build_result(cell, verdict, subtype=subtype, evidence=evidence,
                                         findings=findings, repeat=repeat,
                                         outcome=Outcome.PREDICTED))
        s.started(cell.id, repeat)
        kind_bin = s.kind_tools.bins.get(cell.point.kind.version) or s.kind.kind_bin or "kind"
        cell_dir = s.run.run_dir / "cells" / cell.slug(repeat)
        runrecord.append(s.probe.record, "cluster", kind_bin=kind_bin,
                         name=kind.cluster_name(s.run.run_id, cell, repeat),
                         kubeconfig=str(cell_dir / "kubeconfig"))
        with slot(s.run.run_dir / ".slots", s.kind.max_clusters, s.clock):
            result, kept = kind.run_cell(
                cell, kind_bin=kind_bin, run_id=s.run.run_id, cell_dir=cell_dir,
                settings=s.kind, clock=s.clock, repeat=repeat,
                progress=self._progress(cell.id))
        if kept:
            s.kept.append((kind.cluster_name(s.run.run_id, cell, repeat), kept))
        return s.record(replace(result, findings=findings))

    def _probe_result(self, cell: Cell) -> CellResult | None:
        """This target's probe result: from this process, else (another xdist worker
        probed it) from its cell file, if it is there yet."""
        s = self.session
        found = s.probe_results.get((cell.variant.name, cell.point.kind.version))
        if found is not None:
            return found
        path = s.run.run_dir / CELLS_DIR / cell_filename(ProbeCell(cell.target).id, 1)
        try:
            return cell_from_json(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def run_probe(self, cell: ProbeCell, repeat: int = 1) -> CellResult:
        # Imported here: the probe pulls in grpc and the CRI stubs, which kind-only and
        # plan-only runs never need.
        from .probe import probe_available, probe_cell

        s = self.session
        reason = probe_available(s.probe)
        if reason:
            pytest.skip(f"probe tier unavailable here: {reason}")
        s.started(cell.id, repeat)
        self._say(f"{cell.slug(repeat)}: probing under containerd (window "
                  f"{s.probe.window_s:.0f}s)")
        t0 = s.clock.monotonic()
        result = probe_cell(cell, s.probe, repeat)
        self._say(f"{cell.slug(repeat)}: {result.verdict.value}"
                  + (f" ({result.subtype})" if result.subtype else "")
                  + f" in {s.clock.monotonic() - t0:.0f}s")
        s.probe_results[(cell.variant.name, cell.target.kind.version)] = result
        return s.record(result)

    def run_node(self, cell: NodeCell, repeat: int = 1) -> CellResult:
        # Imported here, like the probe: CRI stubs and grpc, only when node cells run.
        from .node import NodeImage, NodeSettings, node_available, run_node_cell
        from .node.docker import find_docker
        from .node.recipes import load_recipes

        s = self.session
        reason = node_available()
        if reason:
            pytest.skip(f"node tier unavailable here: {reason}")
        recipe = load_recipes(s.catalog.root)[cell.recipe]
        if find_docker().image_labels(recipe.tag) is None:
            pytest.skip(f"node image {recipe.tag} is not built (run: calico-conformance nodes "
                        f"build {cell.recipe})")
        probes, grace, source = self._node_probes()
        settings = NodeSettings(run_id=s.run.run_id, window_s=s.node.window_s, probes=probes,
                                grace_s=grace, probe_source=source, clock=s.clock,
                                keep_logs_dir=s.run.run_dir / "node" / cell.slug(repeat) / "logs",
                                record=s.probe.record)
        s.started(cell.id, repeat)
        self._say(f"{cell.slug(repeat)}: in a {cell.recipe} node (window {s.node.window_s:.0f}s)")
        with slot(s.run.run_dir / ".slots", s.kind.max_clusters, s.clock):
            result = run_node_cell(cell, NodeImage(recipe.name, recipe.tag), settings, repeat)
        self._say(f"{cell.slug(repeat)}: {result.verdict.value}"
                  + (f" ({result.subtype})" if result.subtype else ""))
        return s.record(result)

    def _node_probes(self) -> tuple[tuple[Any, ...], int, str]:
        """calico-node's exec probes from the profile's newest Calico manifest (once)."""
        if self._probes is None:
            from .node.prober import probe_specs

            s = self.session
            release = max((c.calico for c in s.profile.cells),
                          key=lambda r: parse_version(r.version) or (0, 0, 0))
            try:
                docs = load_documents(fetch_manifest(release, s.kind.cache_dir,
                                                     s.kind.manifest_dir))
                specs, grace = probe_specs(docs)
                self._probes = (tuple(specs), grace, f"Calico {release.version} manifest")
            except ConformanceError as exc:
                s.notes.append(f"node tier: no exec probes ({exc})")
                self._probes = ((), 0, "")
        return self._probes

    @staticmethod
    def judge(result: CellResult) -> None:
        """Turn a result into the test's outcome (xfail marks do the rest)."""
        msg = failure_message(result)
        if result.outcome is Outcome.PREDICTED:
            pytest.skip(f"{result.cell_id}: predicted {result.verdict.value} from the probe "
                        f"tier; no cluster spent")
        if result.outcome is Outcome.NOT_TESTED:
            pytest.skip(f"{result.cell_id}: not tested: {result.not_tested}")
        if result.outcome is Outcome.UNKNOWN:
            pytest.fail(f"infrastructure trouble, not a property of the config:\n{msg}",
                        pytrace=False)
        if result.outcome is Outcome.XFAIL:
            raise ExpectedBreakage(msg)
        if result.outcome is Outcome.FAIL:
            raise AssertionError(msg)
        # PASS, XPASS (strict xfail turns it into a failure) and OBSERVED pass here.
