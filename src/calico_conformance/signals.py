"""SIGTERM means Ctrl-C, and a second interrupt never aborts a tear-down.

CI runners and ``timeout`` stop a job with SIGTERM; Python's default for it is to die
on the spot, leaving containerd, shims, mounts and cgroups behind. So SIGTERM raises
:class:`KeyboardInterrupt` like SIGINT, and pytest's own interrupt path (fixture
tear-down, ``pytest_sessionfinish``, the report) runs. Once that interrupt is seen on
its way out (:func:`confirm`), further SIGINT/SIGTERM are ignored for :data:`GRACE_S`,
so a second Ctrl-C (or a CI runner's SIGTERM after its own) cannot cut the tear-down or
the report in half; after the grace, one more raises again (the way out of a hang).
Inside :func:`shielded` blocks (a cell's tear-down, writing the report), even a first
interrupt waits for the block to finish; so does one that comes once the run is writing
its report (the run then exits as interrupted, :func:`held`). Every tear-down step is
itself bounded (``Daemon.stop``'s grace, the kill loops), so the exit is delayed by
seconds.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM)
GRACE_S = 60.0


class _State:
    confirmed: float | None = None  # when an interrupt was seen propagating (confirm())
    depth = 0  # nesting of shielded blocks
    pending: list[int] = []  # signals held back by a shielded block


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def confirm() -> None:
    """An interrupt is on its way out (seen by a tear-down or by pytest): from now on,
    for :data:`GRACE_S`, further signals wait instead of cutting the tear-down short.
    Until then every signal raises: Python may swallow a KeyboardInterrupt raised in
    an at-fork handler or a finaliser, and a second Ctrl-C must still stop the run."""
    if _State.confirmed is None:
        _State.confirmed = time.monotonic()


def _handler(signum: int, frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    if frame is not None and frame.f_globals.get("__name__") == "logging":
        # Python runs os.register_at_fork handlers where an exception cannot propagate: a
        # KeyboardInterrupt raised there is printed as "Exception ignored" and lost (seen
        # when a Ctrl-C met a subprocess spawn). In the parent only logging registers one
        # (its lock release), so inside logging the signal is delivered again a moment
        # later, by then outside it.
        again = threading.Timer(0.01, _thread.interrupt_main, args=(signum,))
        again.daemon = True
        again.start()
        return
    if _State.depth or (_State.confirmed is not None
                        and time.monotonic() - _State.confirmed <= GRACE_S):
        _State.pending.append(signum)  # the tear-down or the report finishes first
        return
    raise KeyboardInterrupt(f"{name} received")


def stopping() -> bool:
    """The run is on its way out for an interrupt (:func:`confirm` was called)."""
    return _State.confirmed is not None


def held() -> bool:
    """A signal arrived and was held back (a tear-down or the report finished first)."""
    return bool(_State.pending)


def install() -> dict[int, Any]:
    """SIGINT and SIGTERM go through :func:`_handler`; returns the previous handlers."""
    if not _main_thread():
        return {}
    _State.confirmed, _State.pending = None, []
    return {s: signal.signal(s, _handler) for s in HANDLED}


def restore(previous: dict[int, Any]) -> None:
    if _main_thread():
        for s, handler in previous.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Run a tear-down to its end; an interrupt that arrived meanwhile is raised after it,
    unless the run is already stopping for one (then it is only noted)."""
    if not _main_thread():
        yield
        return
    previous = {s: signal.signal(s, _handler) for s in HANDLED}
    _State.depth += 1
    try:
        yield
    finally:
        _State.depth -= 1
        if not _State.depth:
            for s, handler in previous.items():
                signal.signal(s, handler)
    if not _State.depth and _State.pending and _State.confirmed is None:
        confirm()  # pending stays: held() still tells the run it was interrupted
        raise KeyboardInterrupt(f"{signal.Signals(_State.pending[0]).name} received during "
                                "tear-down")
