"""The xdist controller's side of a run: it owns the run folder and writes run.json.

Registered beside the session on the controller only (``-n N``): workers collect and
run cells and write each cell file into the folder whose id the controller handed them.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from .cells import Cell, NodeCell, ProbeCell
from .errors import InputError
from .parallel import WORKER_RUN_ID
from .reporting.store import RunStore
from .session import ConformanceSession
from .tiers import TIERS

CONTROLLER_PLUGIN = "calico-conformance-xdist-controller"


class XdistController:
    def __init__(self, session: ConformanceSession) -> None:
        self.session = session

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        try:
            self.session.claim_run_dir()
        except InputError as exc:
            raise pytest.UsageError(exc.usage()) from exc
        node.workerinput[WORKER_RUN_ID] = self.session.ctx.run.run_id

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """run.json from what the first worker collected (every worker collects the same)."""
        s = self.session
        run = s.ctx.run
        if s.state.store is not None or run.plan:
            return
        known: dict[str, Cell | ProbeCell | NodeCell] = {}
        for tier in TIERS:
            if run.runs(tier.name):
                known.update((c.id, c) for c in s.cells_of(tier.name))
        chosen: dict[str, Cell | ProbeCell | NodeCell] = {}
        for nodeid in ids:
            param = nodeid.rpartition("[")[2].rstrip("]")
            base = re.sub(r"-r\d+$", "", param) if run.repeat > 1 else param
            if base in known:
                chosen[base] = known[base]
        cells = sorted((c for c in chosen.values() if isinstance(c, Cell)), key=lambda c: c.id)
        probes = sorted((c for c in chosen.values() if isinstance(c, ProbeCell | NodeCell)),
                        key=lambda c: c.id)
        try:
            s.state.store = RunStore.create(run.reports_dir, s.meta(cells, probes))
        except InputError as exc:
            raise pytest.UsageError(exc.usage()) from exc
