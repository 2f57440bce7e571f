"""The soak loop runs on the clock seam: a ten-minute soak tests in milliseconds."""

from __future__ import annotations

from calico_conformance.clock import FakeClock
from calico_conformance.observe import ObservationLog, read_jsonl
from calico_conformance.progress import ProgressLine, describe
from calico_conformance.verdict import judge
from calico_conformance.watch import Progress, soak

from .scripted import ScriptedSource, pod


def test_a_ten_minute_soak_of_a_stable_cell_runs_to_the_end_on_a_fake_clock(tmp_path) -> None:
    clock = FakeClock()
    source = ScriptedSource(clock, [pod(1, ready=False), pod(8, ready=True)])
    log = ObservationLog(tmp_path / "obs.jsonl")
    result = soak(source, clock, 600.0, log)
    log.close()
    assert result.watched_s == 600.0 and not result.early
    assert source.closed
    verdict = judge(read_jsonl(tmp_path / "obs.jsonl"), watched_s=result.watched_s)[0]
    assert verdict.value == "stable"


def test_the_soak_stops_early_after_two_restarts_unless_full_soak_is_asked() -> None:
    script = [pod(0), pod(30, restarts=1, last_reason="Completed", last_exit=0),
              pod(60, restarts=2, last_reason="Completed", last_exit=0)]
    clock = FakeClock()
    early = soak(ScriptedSource(clock, list(script)), clock, 600.0, ObservationLog())
    assert early.early and early.watched_s == 60.0
    clock = FakeClock()
    full = soak(ScriptedSource(clock, list(script)), clock, 600.0, ObservationLog(),
                full_soak=True)
    assert not full.early and full.watched_s == 600.0


def test_progress_is_reported_and_ends_with_a_done_line() -> None:
    clock = FakeClock()
    seen: list[Progress] = []
    soak(ScriptedSource(clock, [pod(1)]), clock, 60.0, ObservationLog(), progress=seen.append,
         tick_s=10.0)
    assert seen[-1].done and seen[-1].ready == 1 and seen[-1].pods == 1
    assert len(seen) >= 6


def test_a_plain_progress_line_is_printed_at_most_once_per_interval_in_ci_logs() -> None:
    lines: list[str] = []
    clock = FakeClock()
    line = ProgressLine("cell", lines.append, None, interval_s=30.0, clock=clock)
    for i in range(3):
        clock.advance(1.0 if i else 0.0)
        line(Progress(float(i), 60.0, 0, 1, 1))
    clock.advance(29.0)
    line(Progress(31.0, 60.0, 1, 1, 1))
    assert len(lines) == 2 and "restarts 1" in lines[-1]


def test_a_tty_progress_line_is_rewritten_in_place() -> None:
    rewrites: list[str] = []
    line = ProgressLine("cell", lambda s: None, rewrites.append)
    line(Progress(30.0, 600.0, 2, 0, 2))
    assert rewrites == [describe("cell", Progress(30.0, 600.0, 2, 0, 2))]
    assert "30s/10m00s (5%)" in rewrites[0]
