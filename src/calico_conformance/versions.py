"""Version strings as tuples, and platform names as Go spells them: pure, so lint and
the report grid need not import the module that runs programs just to compare
``1.7.18`` with ``2.0.2``."""

from __future__ import annotations

import platform
import re

# Python's platform.machine() -> GOARCH, the name kind binaries and OCI images use.
GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
          "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}

_SEMVER = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """First x.y[.z] in a version banner: ``kind v0.24.0 go1.22``, ``containerd ... 1.7.18``."""
    m = _SEMVER.search(text)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def minor_key(v: str) -> tuple[int, ...]:
    """``"1.30"`` or ``"v1.30.2"`` as ``(1, 30)``, for comparing Kubernetes minors."""
    return tuple(int(x) for x in v.lstrip("v").split(".")[:2])


def goarch(machine: str | None = None) -> str:
    m = (machine or platform.machine()).lower()
    return GOARCH.get(m, m)
