"""Facts about the machine the probe runs on, recorded next to every probe outcome.

A probe verdict is only meaningful together with the host it came from: the same
config that runs on a kind node (systemd as PID 1, runc at /usr/local/sbin/runc)
can fail on a CI runner for reasons that say nothing about the config. These facts
drive both the host overrides (:mod:`.overrides`) and the host-explained verdicts
(:mod:`.judge`).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from .. import tools
from ..errors import ToolError
from ..hostcgroups import cgroup_version
from ..versions import parse_version

PROC = Path("/proc")
BUSYBOX_CANDIDATES = (Path("/bin/busybox"), Path("/usr/bin/busybox"))


@dataclass(frozen=True)
class HostFacts:
    is_root: bool
    containerd_bin: str | None
    containerd_version: str  # containerd's own version token, e.g. "1.6.20~ds1"; "" if absent
    ctr_bin: str | None
    runc_bin: str | None
    runc_version: str
    cgroup_version: str  # "v1" | "v2"
    init_comm: str  # /proc/1/comm
    can_lower_oom_score: bool
    overlay_supported: bool
    busybox: str | None

    @property
    def systemd_pid1(self) -> bool:
        return self.init_comm == "systemd"

    @property
    def containerd_semver(self) -> str:
        v = parse_version(self.containerd_version)
        return ".".join(map(str, v)) if v else self.containerd_version

    def as_dict(self) -> dict[str, str]:
        """The ``ConfigCheck.host`` mapping (strings only, stable keys)."""
        return {
            "containerd": self.containerd_version or "absent",
            "runc": self.runc_version or "absent",
            "cgroup": self.cgroup_version,
            "pid1": self.init_comm,
            "systemd_pid1": str(self.systemd_pid1).lower(),
            "oom_score_lowerable": str(self.can_lower_oom_score).lower(),
            "overlayfs": str(self.overlay_supported).lower(),
        }


def _version_token(binary: str | None, index: int) -> str:
    """Word ``index`` of ``<binary> --version``: ``containerd <module> 1.6.20~ds1 ...``
    (index 2) and ``runc version 1.1.5+ds1`` (index 2) alike."""
    if not binary:
        return ""
    try:
        words = tools.run([binary, "--version"], timeout=20).stdout.split()
    except ToolError:
        return ""
    return words[index] if len(words) > index else ""


def init_comm() -> str:
    try:
        return (PROC / "1" / "comm").read_text().strip()
    except OSError:
        return "unknown"


def can_lower_oom_score() -> bool:
    """Whether this process may lower its oom_score_adj (false in many containers).

    containerd's CRI gives sandboxes -998; where that is refused, runc fails every
    sandbox unless ``restrict_oom_score_adj = true`` (which is why kind sets it when
    rootless). We test by lowering our own score by one and restoring it; raising it
    back is always allowed.
    """
    path = PROC / "self" / "oom_score_adj"
    try:
        current = int(path.read_text().strip())
    except (OSError, ValueError):
        return False
    if current <= -1000:
        return True
    try:
        path.write_text(str(current - 1))
    except OSError:
        return False
    with contextlib.suppress(OSError):
        path.write_text(str(current))
    return True


def overlay_supported() -> bool:
    try:
        return any(line.split()[-1] == "overlay"
                   for line in (PROC / "filesystems").read_text().splitlines() if line.strip())
    except OSError:
        return False


def host_facts(containerd_bin: str | None = None, ctr_bin: str | None = None) -> HostFacts:
    containerd = tools.which("containerd", containerd_bin)
    runc = tools.which("runc")
    runc_version = _version_token(runc, 2)
    busybox = next((str(p) for p in BUSYBOX_CANDIDATES if p.is_file()), None)
    return HostFacts(
        is_root=os.geteuid() == 0,
        containerd_bin=containerd,
        containerd_version=_version_token(containerd, 2),
        ctr_bin=tools.which("ctr", ctr_bin),
        runc_bin=runc,
        runc_version=runc_version,
        cgroup_version=cgroup_version(),
        init_comm=init_comm(),
        can_lower_oom_score=can_lower_oom_score(),
        overlay_supported=overlay_supported(),
        busybox=busybox,
    )


def unavailable_reason(facts: HostFacts) -> str | None:
    """Why the probe cannot run on this host, or None."""
    if not facts.is_root:
        return "the containerd probe needs root (containerd, runc and mounts)"
    if not facts.containerd_bin:
        return "no containerd binary (apt-get install containerd, or pass --containerd-bin)"
    if not facts.ctr_bin:
        return "no ctr binary (Debian's containerd package ships it)"
    if not facts.runc_bin:
        return "no runc binary on PATH"
    if not facts.busybox:
        return "no static busybox for the local image (apt-get install busybox-static)"
    return None
