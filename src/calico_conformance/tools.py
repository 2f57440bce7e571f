"""The only module that runs external programs: kind, docker, containerd, ctr, runc.

It also holds the argv of each kind and docker command the suite uses, so the stand-in
cluster (fake ``kind``/``docker`` on PATH) has exactly one surface to answer.

Everything goes through :func:`run` (or :func:`spawn` for daemons), always with
an argument list, never a shell string. Failures become :class:`ToolError` with
the command's stderr kept, because a broken containerd config often explains
itself only there.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import ToolError, ToolMissing
from .versions import parse_version


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def which(name: str, explicit: str | os.PathLike[str] | None = None) -> str | None:
    """An explicit path if it is executable, else ``name`` on PATH."""
    if explicit:
        p = Path(explicit)
        return str(p) if p.is_file() and os.access(p, os.X_OK) else None
    return shutil.which(name)


def run(argv: list[str], *, check: bool = True, timeout: float | None = 600,
        input: str | None = None, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> Result:
    """Run a command to completion and capture its output."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              input=input, env=env, cwd=cwd, check=False)
    except FileNotFoundError as exc:
        raise ToolMissing(f"{argv[0]}: not found", argv=argv) from exc
    except PermissionError as exc:
        raise ToolMissing(f"{argv[0]}: not executable", argv=argv) from exc
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        raise ToolError(f"{' '.join(argv[:3])} timed out after {timeout:.0f}s", argv=argv,
                        stderr=err) from exc
    result = Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
    if check and not result.ok:
        raise ToolError(f"{' '.join(argv[:4])} failed with exit code {proc.returncode}: "
                        f"{last_line(proc.stderr)}", argv=argv, returncode=proc.returncode,
                        stderr=proc.stderr)
    return result


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no output)"


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when we die (Linux PR_SET_PDEATHSIG), so a
    ``kill -9`` of pytest never leaves the daemon running; the next run reaps the rest."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


PR_SET_PDEATHSIG = 1


class Daemon:
    """A long-running child (containerd) we own: logs to a file, killed by PID."""

    def __init__(self, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        try:
            # A new session so Ctrl-C at the terminal does not race our own tear-down,
            # and so killpg reaches every shim the daemon started.
            self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env,
                                         start_new_session=True,
                                         preexec_fn=_die_with_parent)
        except FileNotFoundError as exc:
            self._log.close()
            raise ToolMissing(f"{argv[0]}: not found", argv=argv) from exc

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM the process group, then SIGKILL; always reaps."""
        if self.alive():
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self._log.close()
        return self.proc.poll()


def spawn(argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> Daemon:
    return Daemon(argv, log_path, env)


def kill_pid(pid: int, sig: int = signal.SIGKILL) -> bool:
    """Kill one process by PID; False when it was already gone."""
    try:
        os.kill(pid, sig)
        return True
    except ProcessLookupError:
        return False


_OCTAL = re.compile(r"\\([0-7]{3})")


def mount_points(mountinfo: str | None = None) -> list[str]:
    """Mount points from /proc/self/mountinfo (field 5), octal escapes decoded."""
    text = mountinfo if mountinfo is not None else Path("/proc/self/mountinfo").read_text()
    return [_OCTAL.sub(lambda m: chr(int(m.group(1), 8)), line.split()[4])
            for line in text.splitlines() if len(line.split()) > 4]


def mounts_under(roots: list[Path], mountinfo: str | None = None) -> list[str]:
    """Mount points at or below any of ``roots``, deepest first."""
    prefixes = [str(r).rstrip("/") for r in roots]
    hits = {m for m in mount_points(mountinfo)
            if any(m == p or m.startswith(p + "/") for p in prefixes)}
    return sorted(hits, key=lambda m: (-m.count("/"), m))


def unmount(path: Path) -> None:
    """Lazy-unmount a path we mounted (probe tear-down)."""
    run(["umount", "-l", str(path)], check=False, timeout=30)


# --- kind and docker -------------------------------------------------------------------------

MIN_KIND = (0, 20, 0)


def docker_info(docker: str = "docker") -> str:
    """The Docker server version; ToolMissing with Docker's own words when it is not usable."""
    if which(docker) is None:
        raise ToolMissing("docker: not found on PATH")
    res = run([docker, "info", "--format", "{{.ServerVersion}}"], check=False, timeout=60)
    if not res.ok or not res.stdout.strip():
        raise ToolMissing(f"docker info failed: {last_line(res.stderr or res.stdout)}")
    return res.stdout.strip()


def kind_version(kind: str) -> tuple[int, int, int]:
    res = run([kind, "version"], check=False, timeout=60)
    version = parse_version(res.stdout)
    if not res.ok or version is None:
        raise ToolMissing(f"{kind} version failed: {last_line(res.stderr or res.stdout)}")
    if version < MIN_KIND:
        raise ToolMissing(f"{kind} is v{'.'.join(map(str, version))}; "
                          f"the suite needs kind >= v{'.'.join(map(str, MIN_KIND))}")
    return version


def docker_exec(node: str, *argv: str, docker: str = "docker") -> Result:
    return run([docker, "exec", node, *argv], check=False, timeout=120)


def kind_export_logs(kind: str, name: str, dest: Path) -> Result:
    return run([kind, "export", "logs", str(dest), "--name", name], check=False, timeout=600)


def kind_get_clusters(kind: str) -> list[str]:
    res = run([kind, "get", "clusters"], check=False, timeout=60)
    return [ln.strip() for ln in res.stdout.splitlines() if ln.strip()] if res.ok else []


def kind_get_nodes(kind: str, name: str) -> list[str]:
    res = run([kind, "get", "nodes", "--name", name], check=True, timeout=60)
    return sorted(ln.strip() for ln in res.stdout.splitlines() if ln.strip())


def kind_create_cluster(kind: str, name: str, kubeconfig: Path, config: Path | None,
                        wait: str = "0s") -> Result:
    """``kind create cluster --retain``: a failed create keeps its nodes, so `kind export
    logs` can still read containerd's own error (the caller deletes afterwards)."""
    argv = [kind, "create", "cluster", f"--name={name}", f"--kubeconfig={kubeconfig}",
            f"--wait={wait}", "--retain"]
    if config is not None:
        argv += ["--config", str(config)]
    return run(argv, check=False, timeout=900)


def kind_delete_cluster(kind: str, name: str, kubeconfig: Path) -> Result:
    return run([kind, "delete", "cluster", f"--name={name}", f"--kubeconfig={kubeconfig}"],
               check=False, timeout=300)


# --- images: pulled once on the host, loaded into each cluster --------------------------------

def docker_pull(image: str, docker: str = "docker") -> Result:
    return run([docker, "pull", image], check=False, timeout=900)


def docker_image_digest(image: str, docker: str = "docker") -> str | None:
    """The repo digest (``name@sha256:...``) of a local image, or its ID; None if absent."""
    res = run([docker, "image", "inspect", "--format", "{{json .RepoDigests}} {{.Id}}", image],
              check=False, timeout=60)
    if not res.ok or not res.stdout.strip():
        return None
    digests, _, image_id = res.stdout.strip().rpartition(" ")
    found = re.findall(r'"([^"]+@sha256:[0-9a-f]{64})"', digests)
    return found[0] if found else image_id


def kind_load_images(kind: str, name: str, images: list[str]) -> Result:
    return run([kind, "load", "docker-image", *images, "--name", name], check=False, timeout=900)
