"""docker argv for the node tier, run through :func:`tools.run` (the one process module).

Every container this tier starts carries :data:`RUN_LABEL` = the run id, so tear-down
finds and removes all of them by label, whatever step was interrupted, and a test can
prove that nothing is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import tools
from ..errors import ToolMissing

RUN_LABEL = "io.calico-conformance.run"
RECIPE_LABEL = "io.calico-conformance.recipe"
DIGEST_LABEL = "io.calico-conformance.recipe-digest"

# How kind starts a node (kind pkg/cluster/internal/providers/docker/create.go:
# --privileged, seccomp/apparmor unconfined, --tmpfs /tmp /run, anonymous /var,
# /lib/modules read-only), adapted where this host refuses it. Each adaptation is
# recorded in the cell's facts.
KIND_LIKE = ("--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
             "--tmpfs", "/tmp", "--tmpfs", "/run", "--volume", "/var",
             "--volume", "/lib/modules:/lib/modules:ro")
ADAPTED = ("--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
           "--security-opt", "systempaths=unconfined", "--device-cgroup-rule", "a *:* rwm")
ADAPTATIONS = (
    "--privileged replaced by --cap-add ALL --cap-drop SYS_RESOURCE + systempaths=unconfined + "
    "device rule 'a *:* rwm' (this host lacks CAP_SYS_RESOURCE: 'unable to apply caps')",
    "cgroup v1 mounts (docker's, rooted at the node's own cgroup) remounted read-write per "
    "mount by the entrypoint, since without --privileged docker mounts them read-only; "
    "then kind's fix_cgroup bind mounts; on this hybrid host the entrypoint also mounts "
    "cgroup2 at /sys/fs/cgroup/unified rooted at the node's cgroup (docker mounts none, and "
    "the node's systemd would mount the host's whole cgroup2 tree there)",
    "--network none (no traffic leaves the machine; CRI is reached over a bind-mounted "
    "socket directory)",
)


@dataclass(frozen=True)
class Docker:
    binary: str

    def run(self, *args: str, check: bool = True, timeout: float = 120) -> tools.Result:
        return tools.run([self.binary, *args], check=check, timeout=timeout)

    def exec(self, node: str, *argv: str, check: bool = False, timeout: float = 60,
             stdin: str | None = None) -> tools.Result:
        extra = ["-i"] if stdin is not None else []
        return tools.run([self.binary, "exec", *extra, node, *argv], check=check,
                         timeout=timeout, input=stdin)

    def server_version(self) -> str:
        return tools.docker_info(self.binary)

    def image_labels(self, ref: str) -> dict[str, str] | None:
        res = self.run("image", "inspect", "--format", "{{json .Config.Labels}}", ref,
                       check=False)
        if not res.ok:
            return None
        import json

        data = json.loads(res.stdout or "null")
        return {str(k): str(v) for k, v in (data or {}).items()}

    def images(self, repo: str) -> list[tuple[str, str]]:
        """(tag reference, image id) of every image in ``repo``."""
        res = self.run("images", repo, "--format", "{{.Repository}}:{{.Tag}} {{.ID}}")
        return [(ln.split()[0], ln.split()[1]) for ln in res.stdout.splitlines() if ln.strip()]

    def start_node(self, name: str, image: str, run_id: str, socket_dir: Path,
                   extra_volumes: tuple[str, ...] = ()) -> str:
        argv = ["run", "--detach", "--name", name, "--hostname", name,
                "--label", f"{RUN_LABEL}={run_id}", "--network", "none",
                "--stop-signal", "SIGRTMIN+3",
                *KIND_LIKE, *ADAPTED,
                "--volume", f"{socket_dir}:/run/containerd",
                *(a for v in extra_volumes for a in ("--volume", v)),
                image]
        return self.run(*argv, timeout=120).stdout.strip()

    def containers(self, run_id: str | None = None) -> list[str]:
        """Ids of the containers this tier started (for one run, or any run)."""
        label = f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL
        res = self.run("ps", "-aq", "--filter", f"label={label}", check=False)
        return [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]

    def names(self) -> dict[str, str]:
        """Every container of this tier, any run: name → its run label."""
        res = self.run("ps", "-a", "--filter", f"label={RUN_LABEL}", "--format",
                       f'{{{{.Names}}}} {{{{.Label "{RUN_LABEL}"}}}}', check=False)
        pairs = (ln.split(" ", 1) for ln in res.stdout.splitlines() if ln.strip())
        return {p[0]: (p[1] if len(p) > 1 else "") for p in pairs}

    def owner(self, name: str) -> tuple[str, str] | None:
        """(container id, run label) of a container, None when there is none by that name."""
        res = self.run("inspect", "--type", "container", "--format",
                       f'{{{{.Id}}}} {{{{index .Config.Labels "{RUN_LABEL}"}}}}', name,
                       check=False)
        words = res.stdout.split() if res.ok else []
        return (words[0], words[1] if len(words) > 1 else "") if words else None

    def remove(self, container: str) -> bool:
        """Force-remove a container and its anonymous volume (/var)."""
        return self.run("rm", "--force", "--volumes", container, check=False, timeout=120).ok

    def remove_run(self, run_id: str) -> list[str]:
        """Remove every container of ``run_id``; returns those that could not be removed."""
        return [c for c in self.containers(run_id) if not self.remove(c)]


def find_docker(explicit: str | None = None) -> Docker:
    binary = tools.which("docker", explicit)
    if binary is None:
        raise ToolMissing("docker: not found on PATH (apt-get install docker.io)")
    return Docker(binary)
