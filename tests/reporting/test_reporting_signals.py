"""Interrupts while the report is written: the report is finished, then the run stops."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from reporting_sample import sample_matrix

from calico_conformance import signals
from calico_conformance.reporting.store import write_all


@pytest.fixture
def handlers() -> Iterator[None]:
    previous = signals.install()
    yield
    signals.restore(previous)
    signals._State.confirmed = None  # the next test starts a fresh run


def test_sigint_and_sigterm_during_report_writing_wait_for_the_whole_report(
        tmp_path: Path, handlers: None) -> None:
    with pytest.raises(KeyboardInterrupt, match="during tear-down"), signals.shielded():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
        write_all(sample_matrix(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "junit.xml", "matrix.html", "matrix.json", "matrix.md"]


def test_sigterm_is_an_interrupt_and_once_confirmed_later_ones_wait(handlers: None) -> None:
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        os.kill(os.getpid(), signal.SIGTERM)
    # Not yet seen on its way out (Python can swallow one in an at-fork handler): the
    # next signal must still stop the run.
    with pytest.raises(KeyboardInterrupt, match="SIGINT"):
        os.kill(os.getpid(), signal.SIGINT)
    signals.confirm()  # what a tear-down or pytest_keyboard_interrupt does
    os.kill(os.getpid(), signal.SIGINT)  # the tear-down goes on
    os.kill(os.getpid(), signal.SIGTERM)


def test_an_interrupt_after_a_confirmed_one_does_not_break_the_report(
        tmp_path: Path, handlers: None) -> None:
    signals.confirm()
    with signals.shielded():
        os.kill(os.getpid(), signal.SIGINT)
        write_all(sample_matrix(), tmp_path)
    assert (tmp_path / "junit.xml").is_file()


def test_an_interrupt_inside_logging_is_taken_right_after_it_not_lost(handlers: None) -> None:
    # logging's after-fork lock release runs where a raised exception is swallowed;
    # this stands in for it: code whose globals say it is the logging module.
    done: list[int] = []
    ns = {"__name__": "logging", "os": os, "signal": signal, "done": done}
    exec("def release():\n"
         "    os.kill(os.getpid(), signal.SIGINT)\n"
         "    total = sum(range(1000))\n"
         "    done.append(total)\n", ns)
    with pytest.raises(KeyboardInterrupt, match="SIGINT"):
        ns["release"]()  # type: ignore[operator]
        for _ in range(100):  # the interrupt lands here, after release() returned
            time.sleep(0.01)
    assert done == [499500]


def test_once_a_run_is_stopping_the_handlers_stay_so_a_late_ctrl_c_waits(
        handlers: None) -> None:
    """pytest cleans up after the session's last hook; a third Ctrl-C there once ended in
    a traceback (gc.collect in _ensure_unconfigure)."""
    assert not signals.stopping()
    signals.confirm()
    assert signals.stopping()
    os.kill(os.getpid(), signal.SIGINT)  # within the grace: held, not raised
    assert signals.held()
