"""Our error hierarchy.

Library exceptions never escape a module boundary raw: each is wrapped in one of
these, with the original kept as ``__cause__``. Everything that is the user's
fault derives from :class:`InputError` and renders as one line naming the file,
line or option; anything else that escapes is our bug and may show a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

# A message quotes what the user gave (a name, a value, a path): it must not drive the
# terminal (C0/C1 controls, bidi overrides, as in reporting.facts.visible) nor echo
# 100,000 characters back, so both are neutralised once, here, for every InputError.
# C0/C1 controls (ESC starts ANSI sequences), DEL, and the Unicode bidi controls that
# reorder what is displayed (Trojan Source, CVE-2021-42574); a tab is kept.
CONTROLS = ("\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
            "\u2066-\u2069")
_CONTROLS = re.compile(f"[{CONTROLS}]")
NAME_LIMIT = 200  # no name, value or path a user means is longer without a space


def bounded(text: str, limit: int = NAME_LIMIT) -> str:
    """``text`` on one line, every control shown as ``?`` and every run of more than
    ``limit`` characters without a space cut, with its length said."""
    text = _CONTROLS.sub("?", text)
    return re.sub(rf"\S{{{limit + 1},}}",
                  lambda m: f"{m[0][:80]}...[{len(m[0])} characters]", text)


class ConformanceError(Exception):
    """Base of every error this package raises on purpose."""


class InputError(ConformanceError):
    """Bad input from the user: a file, a line in it, or an option."""

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None):
        self.path = None if path is None else bounded(str(path))
        self.line = line
        self.message = bounded(message)
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = self.path or ""
        if where and self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}" if where else self.message

    def usage(self) -> str:
        """The line a startup error prints: ``calico-conformance: <problem>``."""
        return f"calico-conformance: {self.one_line()}"


class ModelError(InputError):
    """A stored result (``run.json``, a cell file, ``matrix.json``) does not fit the model;
    the message names the field, the caller adds the file."""


class ToolError(ConformanceError):
    """A kind, docker or containerd command failed or could not be run."""

    def __init__(self, message: str, *, argv: list[str] | None = None,
                 returncode: int | None = None, stderr: str = "") -> None:
        self.argv = argv or []
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(message)


class ToolMissing(ToolError):
    """A required executable is not installed or not runnable (preflight)."""


class ClusterExists(ConformanceError):
    """A kind cluster with our name already exists: never reuse it silently."""


class KubeApiError(ConformanceError):
    """The Kubernetes API refused or failed a request."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class WatchExpired(KubeApiError):
    """A watch's resourceVersion is too old (410 Gone): relist and resume."""


class ManifestError(ConformanceError):
    """A Calico manifest could not be fetched or did not match its pin."""


class ProbeError(ConformanceError):
    """The containerd probe could not run because of the host, not the config."""


class NodeUnavailable(ProbeError):
    """No node could be brought up here (qemu died, a boot past its budget): the cell's
    variant is not tested, which is never a pass."""


class RefusedBinary(ProbeError):
    """A variant names a binary the host probe will not run as root."""


class PinMismatch(ConformanceError):
    """Downloaded (or cached, or mirrored) bytes do not match their sha256 pin."""


class DownloadFailed(ConformanceError):
    """The download itself failed (offline, 404, timeout)."""


class CriCallError(ConformanceError):
    """A CRI call failed; ``code`` is the gRPC status name, ``details`` containerd's text."""

    def __init__(self, call: str, code: str, details: str) -> None:
        self.call, self.code, self.details = call, code, details
        super().__init__(f"{call}: {code}: {details}")


class StepFailed(Exception):
    """A step of a cell failed because of the config, in containerd's, runc's or the
    kubelet's own words. Not a :class:`ConformanceError` on purpose: our trouble is never
    the config's verdict, so the two are caught apart (``verdict.judge_steps`` maps the
    step to its verdict class).

    ``step`` is one of ``verdict.STEP_VERDICTS``; ``explained`` says why the host, not
    the config, is to blame (the verdict is then ``unknown``); ``subtype`` tells cases of
    one verdict class apart (``wrong-endpoint``: CRI served where the kubelet does not
    look).
    """

    def __init__(self, step: str, error: str, *, explained: str = "",
                 subtype: str = "") -> None:
        self.step, self.error, self.explained = step, error, explained
        self.subtype = subtype
        super().__init__(f"{step}: {error}")


class ExpectedBreakage(AssertionError):
    """A known-bad cell broke the way its variant says: raised for a strict xfail.

    An AssertionError, not a ConformanceError: it is a test outcome, not trouble.
    """


class UnreadableInput(InputError):
    """``analyze`` input that is not kubectl output or an observation log (exit code 2)."""
