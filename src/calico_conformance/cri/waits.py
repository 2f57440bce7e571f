"""The two waits every tier makes on a fresh containerd: CRI ready, and images visible.

Both wait on CRI's own answers (never a fixed sleep), bounded by a deadline on the one
clock: CRI learns of ``ctr images import`` and ``tag`` from events, asynchronously, as
the kubelet's image manager would find them present.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from ..clock import Clock
from ..errors import CriCallError, ProbeError
from .client import CriClient


@dataclass(frozen=True)
class Readiness:
    ready: bool
    version: str = ""  # "containerd 1.6.20 (CRI v1)" once ready
    network_ready: bool = False
    last: str = ""  # the last thing CRI said while not ready
    unimplemented: bool = False  # no CRI service at all: the plugin is not loaded


def wait_ready(client: CriClient, clock: Clock, timeout_s: float,
               alive: Callable[[], bool] = lambda: True) -> Readiness:
    """Poll Status (the kubelet's runtime check) until RuntimeReady, the deadline, or
    ``alive()`` is false; then ask Version once."""
    deadline = clock.monotonic() + timeout_s
    last = ""
    while clock.monotonic() < deadline and alive():
        try:
            status = client.status()
            version = client.version() if status.runtime_ready else ""
        except CriCallError as exc:
            last = str(exc)
            if exc.code == "UNIMPLEMENTED":  # no CRI service registered: the plugin is out
                return Readiness(False, last=last, unimplemented=True)
        else:
            if status.runtime_ready:
                return Readiness(True, version, status.network_ready)
            last = f"RuntimeReady false: {status.reason}"
        clock.sleep(0.5)
    return Readiness(False, last=last)


def wait_images(client: CriClient, clock: Clock, refs: tuple[str, ...],
                timeout_s: float = 20.0) -> None:
    """Wait until CRI sees every reference; our trouble (a ProbeError) if it never does."""
    deadline = clock.monotonic() + timeout_s
    missing = list(refs)
    while missing and clock.monotonic() < deadline:
        with contextlib.suppress(CriCallError):
            missing = [r for r in missing if not client.image_present(r)]
        if missing:
            clock.sleep(0.3)
    if missing:
        raise ProbeError(f"CRI does not see the imported image(s) {', '.join(missing)}")
