"""What every preflight lint rule reads: the config's canonical view plus the node.

:class:`LintContext` carries the effective config's view and what the node brings
(kubelet cgroup driver, containerd version, shims, pinned pause image), and knows
how to point a finding at the exact TOML table, key and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..containerd import ContainerdView, Runtime, SkippedPatch
from ..model import Finding

RUNC_TYPES = ("io.containerd.runc.v2", "io.containerd.runc.v1")


# runc shim options (containerd runc.v2 Options; the defaults containerd writes for runc).
RUNC_OPTIONS = ("SystemdCgroup", "BinaryName", "Root", "CriuPath", "NoPivotRoot",
                "NoNewKeyring", "ShimCgroup", "IoUid", "IoGid", "CriuImagePath", "CriuWorkPath")




CGROUP_REFS = ("https://github.com/kubernetes/kubernetes/issues/110177",
               "https://github.com/containerd/containerd/issues/7276",
               "https://kubernetes.io/docs/setup/production-environment/container-runtimes/"
               "#containerd-systemd")


REGISTRY_REFS = ("https://github.com/containerd/containerd/pull/4978",
                 "https://github.com/containerd/containerd/pull/5304",
                 "https://github.com/containerd/containerd/blob/main/docs/hosts.md")


@dataclass(frozen=True)
class LintContext:
    view: ContainerdView
    kubelet_cgroup_driver: str
    containerd: tuple[int, int, int]
    shims: tuple[str, ...] | None  # None: unknown (a standalone file on an unknown node)
    pinned_pause: str | None
    skipped: tuple[SkippedPatch, ...]
    source_text: str
    path: str
    standalone: bool
    ignored_tables: tuple[str, ...] = ()  # full-URI plugin tables a version-1 read skips

    def locate(self, table: str, key: str = "") -> int | None:
        return locate(self.source_text, table, key)

    def finding(self, code: str, severity: str, message: str, *, table: str = "", key: str = "",
                predicted: str = "", references: tuple[str, ...] = (), fix: str = "",
                line: int | None = None) -> Finding:
        return Finding(code=code, severity=severity, message=message, table=table, key=key,
                       predicted=predicted, references=references, fix=fix, path=self.path,
                       line=line if line is not None else self.locate(table, key))


def _norm(header: str) -> str:
    return re.sub(r"[\s\"']", "", header)


def locate(text: str, table: str, key: str = "") -> int | None:
    """1-based line of ``key`` inside ``[table]`` (or of the table header) in ``text``."""
    want = _norm(table)
    current, header_line = "", None
    fallback = None
    for i, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        m = re.fullmatch(r"\[\[?(.+?)\]\]?", line)
        if m:
            current = _norm(m.group(1))
            if current == want and header_line is None:
                header_line = i
            continue
        if key and re.match(rf"[\"']?{re.escape(key)}[\"']?\s*=", line):
            if current == want:
                return i
            if fallback is None and (current.startswith(want) or want.startswith(current)):
                fallback = i
    if key and fallback is not None:
        return fallback
    return header_line


def default_runtime(ctx: LintContext) -> Runtime | None:
    """The runtime containerd will use for pods without a RuntimeClass.

    A standalone file is merged over containerd's built-in defaults, which define
    ``runc`` (runc.v2, no options): a missing runc table is not undefined there.
    """
    view = ctx.view
    rt = view.default_runtime
    name = view.default_runtime_name or "runc"
    if rt is None and ctx.standalone and name == "runc":
        return Runtime(name="runc", table=f"{view.cri_table}.runtimes.runc",
                       runtime_type=RUNC_TYPES[0])
    return rt


def is_runc(rt: Runtime) -> bool:
    return rt.runtime_type is None or rt.runtime_type in RUNC_TYPES
