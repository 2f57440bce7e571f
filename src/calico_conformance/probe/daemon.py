"""One throw-away containerd: its directories, its process, and a total tear-down.

A probe owns everything it starts and must leave nothing behind, even on Ctrl-C:
the daemon (killed by its process group), every shim (shims ``setpgid`` away from the
daemon, so they are found by the ``-address <our socket>`` on their command line) and
their container processes (descendants), the mounts containerd made under our
root/state (from /proc/self/mountinfo), the cgroups named with our token, the shim
sockets containerd 1.6 keeps in /run/containerd/s, and finally the directories.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from .. import tools
from ..clock import Clock
from ..hostcgroups import remove_named
from ..redact import redact_config, redact_text
from ..tools import mounts_under
from .hostpaths import SYSTEM_PATH
from .overrides import IsolationPaths

CONTAINERD_NAMESPACE = "k8s.io"  # the CRI plugin's containerd namespace
SHIM_SOCKET_DIR = Path("/run/containerd/s")  # hard-coded in containerd 1.6's shim package
MAX_SOCKET_PATH = 100  # sun_path is 108 bytes; keep room for ".ttrpc"


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    ppid: int
    pgid: int
    state: str
    argv: tuple[str, ...]


def processes(proc: Path = Path("/proc")) -> dict[int, ProcInfo]:
    out: dict[int, ProcInfo] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        # comm may contain spaces and parens: the fields after the last ")" are fixed.
        rest = stat[stat.rfind(")") + 2:].split()
        out[int(entry.name)] = ProcInfo(int(entry.name), int(rest[1]), int(rest[2]), rest[0],
                                        tuple(a.decode(errors="replace") for a in argv if a))
    return out


def owned_pids(address: str, group: int | None, table: dict[int, ProcInfo] | None = None
               ) -> set[int]:
    """Live processes that belong to the probe whose containerd listens on ``address``."""
    table = processes() if table is None else table
    roots = {p.pid for p in table.values()
             if (group is not None and p.pgid == group)
             or any(a == address for a in p.argv[1:])}
    owned, frontier = set(roots), set(roots)
    while frontier:
        frontier = {p.pid for p in table.values() if p.ppid in frontier} - owned
        owned |= frontier
    owned.discard(os.getpid())
    return {pid for pid in owned if table[pid].state != "Z"}  # zombies hold nothing


def fs_type(path: Path) -> str:
    """Filesystem type of the mount holding ``path`` (longest mount-point prefix)."""
    best, fstype = "", ""
    try:
        text = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return ""
    target = str(path.resolve())
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        mp = fields[4]
        if (target == mp or target.startswith(mp.rstrip("/") + "/")) and len(mp) >= len(best):
            best, fstype = mp, right.split()[0]
    return fstype


def shim_socket(address: str, task_id: str, namespace: str = CONTAINERD_NAMESPACE) -> Path:
    """containerd 1.6 runtime/v2/shim SocketAddress: sha256(address/namespace/id)."""
    digest = hashlib.sha256(f"{address}/{namespace}/{task_id}".encode()).hexdigest()
    return SHIM_SOCKET_DIR / digest


MARKER = ".calico-conformance-probe"


@dataclass
class ProbeDirs:
    """The probe's private tree; ``sock_dir`` is separate only if ``base`` is too long."""

    base: Path
    sock_dir: Path
    token: str
    created_run_containerd: bool = False
    task_ids: set[str] = field(default_factory=set)

    @classmethod
    def create(cls, workdir: Path) -> ProbeDirs:
        workdir.mkdir(parents=True, exist_ok=True)
        token = uuid.uuid4().hex[:10]
        base = Path(tempfile.mkdtemp(prefix=f"ccprobe-{token}-", dir=workdir))
        sock_dir = base
        if len(str(base / "containerd.sock.ttrpc")) > MAX_SOCKET_PATH:
            sock_dir = Path(tempfile.mkdtemp(prefix=f"ccp-{token}-"))
        for sub in ("root", "state", "opt", "cni/net.d", "cni/bin", "runc", "logs"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        (base / MARKER).write_text(token + "\n")  # the reaper's proof the tree is ours
        return cls(base=base, sock_dir=sock_dir, token=token,
                   created_run_containerd=not SHIM_SOCKET_DIR.parent.exists())

    @property
    def address(self) -> str:
        return str(self.sock_dir / "containerd.sock")

    @property
    def config(self) -> Path:
        return self.base / "config.toml"

    @property
    def log(self) -> Path:
        return self.base / "logs" / "containerd.log"

    @property
    def image_tar(self) -> Path:
        return self.base / "image.tar"

    def isolation(self) -> IsolationPaths:
        return IsolationPaths(grpc=Path(self.address), ttrpc=Path(self.address + ".ttrpc"),
                              opt=self.base / "opt", cni_conf=self.base / "cni/net.d",
                              cni_bin=self.base / "cni/bin", runc_root=self.base / "runc",
                              base_spec=self.base / "cri-base.json", tree=self.base)

    def roots(self) -> list[Path]:
        return [self.base] if self.sock_dir == self.base else [self.base, self.sock_dir]


def start_containerd(binary: str, dirs: ProbeDirs) -> tools.Daemon:
    """containerd with the system directories as its whole ``PATH``: a shim named only by
    ``runtime_type`` is looked up there (and beside containerd), never in a user's PATH."""
    return tools.spawn([binary, "--config", str(dirs.config), "--root", str(dirs.base / "root"),
                        "--state", str(dirs.base / "state"), "--address", dirs.address,
                        "--log-level", "info"], dirs.log,
                       env={**os.environ, "PATH": SYSTEM_PATH})


def wait_for_socket(daemon: tools.Daemon, address: str, clock: Clock, timeout: float) -> bool:
    """True once the gRPC socket exists; False if the daemon died first or time ran out."""
    deadline = clock.monotonic() + timeout
    while clock.monotonic() < deadline:
        if not daemon.alive():
            return False
        if Path(address).exists():
            return True
        clock.sleep(0.1)
    return False


def _kill_all(address: str, group: int | None, clock: Clock) -> list[str]:
    for _ in range(10):
        pids = owned_pids(address, group)
        if not pids:
            return []
        for pid in sorted(pids):
            tools.kill_pid(pid)
        clock.sleep(0.2)
    return [f"process {pid} survived SIGKILL" for pid in sorted(owned_pids(address, group))]


def teardown(dirs: ProbeDirs, daemon: tools.Daemon | None, clock: Clock,
             keep_logs_dir: Path | None = None) -> list[str]:
    """Remove everything the probe created; returns what could not be removed."""
    problems: list[str] = []
    task_dir = dirs.base / "state" / "io.containerd.runtime.v2.task" / CONTAINERD_NAMESPACE
    with contextlib.suppress(OSError):
        dirs.task_ids.update(p.name for p in task_dir.iterdir())
    if daemon is not None:
        daemon.stop(grace=5.0)
    problems += _kill_all(dirs.address, daemon.pid if daemon else None, clock)
    for _ in range(3):
        left = mounts_under(dirs.roots())
        if not left:
            break
        for mount in left:
            tools.unmount(Path(mount))
    stuck = mounts_under(dirs.roots())
    problems += [f"mount {m} remains" for m in stuck]
    problems += remove_named(dirs.token)
    for task_id in sorted(dirs.task_ids):
        with contextlib.suppress(OSError):
            shim_socket(dirs.address, task_id).unlink()
    if dirs.created_run_containerd:
        for d in (SHIM_SOCKET_DIR, SHIM_SOCKET_DIR.parent):
            with contextlib.suppress(OSError):
                d.rmdir()  # only if empty: a concurrent probe may still use it
    if keep_logs_dir is not None:
        with contextlib.suppress(OSError):
            keep_logs_dir.mkdir(parents=True, exist_ok=True)
            for f, redact in ((dirs.log, redact_text), (dirs.config, redact_config)):
                if f.exists():  # kept as evidence: without credentials
                    (keep_logs_dir / f.name).write_text(redact(f.read_text(errors="replace")))
    for root in dirs.roots():
        if stuck:  # never rmtree through a mount that is still attached
            problems.append(f"directory {root} kept: mounts remain under it")
            continue
        shutil.rmtree(root, ignore_errors=True)
        if root.exists():
            problems.append(f"directory {root} remains")
    return problems
