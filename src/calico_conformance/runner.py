"""What the suites call: run one cell on its tier, record it, and turn it into a test outcome.

The runner knows the session (settings, store, what earlier cells found) but no pytest
hook; the hooks live on :class:`~.session.ConformanceSession`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from . import kind, runrecord
from .cells import Cell, ProbeCell
from .errors import ExpectedBreakage
from .lint import lint_cell
from .model import CellResult, Outcome
from .progress import ProgressLine
from .reporting.facts import failure_message
from .results import build_result
from .verdict import predicted_from_probe

if TYPE_CHECKING:
    from .session import ConformanceSession


class CellRunner:
    def __init__(self, session: ConformanceSession, config: pytest.Config) -> None:
        self.session = session
        self.config = config

    def _progress(self, cell_id: str) -> ProgressLine | None:
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
                            uncaptured(tr.rewrite) if tty else None, interval_s=30.0,
                            clock=self.session.clock)

    def run_kind(self, cell: Cell, repeat: int = 1) -> CellResult:
        s = self.session
        findings = lint_cell(cell)
        probe = s.probe_results.get((cell.variant.name, cell.point.kind.version))
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
        result, kept = kind.run_cell(
            cell, kind_bin=kind_bin, run_id=s.run.run_id,
            cell_dir=cell_dir, settings=s.kind,
            clock=s.clock, repeat=repeat, progress=self._progress(cell.id))
        if kept:
            s.kept.append((kind.cluster_name(s.run.run_id, cell, repeat), kept))
        return s.record(replace(result, findings=findings))

    def run_probe(self, cell: ProbeCell, repeat: int = 1) -> CellResult:
        # Imported here: the probe pulls in grpc and the CRI stubs, which kind-only and
        # plan-only runs never need.
        from .probe import probe_available, probe_cell

        s = self.session
        reason = probe_available(s.probe)
        if reason:
            pytest.skip(f"probe tier unavailable here: {reason}")
        s.started(cell.id, repeat)
        result = probe_cell(cell, s.probe, repeat)
        s.probe_results[(cell.variant.name, cell.target.kind.version)] = result
        return s.record(result)

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
