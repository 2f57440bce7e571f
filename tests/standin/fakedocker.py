"""The fake ``docker``: daemon info/version and ``docker exec`` on kind node containers.

Messages are the docker CLI's own ("Error response from daemon: No such container",
"Cannot connect to the Docker daemon ...", "OCI runtime exec failed ...").
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from .registry import State

Result = tuple[int, str, str]  # rc, stdout, stderr
DOCKER_DOWN = ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
               "Is the docker daemon running?\n")


def _info(state: State) -> dict[str, Any]:
    nodes = sum(len(c.nodes) for c in state.clusters.values())
    return {"ID": "7d2c1f3e-standin", "Containers": nodes, "ContainersRunning": nodes,
            "ServerVersion": state.docker_version, "Driver": "overlay2", "CgroupDriver": "systemd",
            "CgroupVersion": "2", "KernelVersion": "6.8.0-45-generic", "OSType": "linux",
            "OperatingSystem": "Ubuntu 24.04.1 LTS", "Architecture": "x86_64", "NCPU": 8,
            "MemTotal": 16663175168, "Name": "standin", "SecurityOptions": [
                "name=apparmor", "name=seccomp,profile=builtin", "name=cgroupns"]}


def _docker_info_text(state: State) -> str:
    i = _info(state)
    return (f"Client:\n Version:    {state.docker_version}\n Context:    default\n\nServer:\n"
            f" Containers: {i['Containers']}\n  Running: {i['ContainersRunning']}\n"
            f" Server Version: {i['ServerVersion']}\n Storage Driver: {i['Driver']}\n"
            f" Cgroup Driver: {i['CgroupDriver']}\n Cgroup Version: {i['CgroupVersion']}\n"
            f" Kernel Version: {i['KernelVersion']}\n Operating System: {i['OperatingSystem']}\n"
            f" OSType: {i['OSType']}\n Architecture: {i['Architecture']}\n CPUs: {i['NCPU']}\n"
            f" Name: {i['Name']}\n ID: {i['ID']}\n")


def _template(fmt: str, data: Any) -> str:
    """The little of Go templates the suite uses: {{json .}}, {{.A.B}}, {{json .A}}."""
    def sub(m: re.Match[str]) -> str:
        as_json, path = bool(m.group(1)), m.group(2)
        cur = data
        for part in filter(None, path.split(".")):
            cur = cur.get(part, "") if isinstance(cur, dict) else ""
        return json.dumps(cur) if as_json else str(cur)
    return re.sub(r"\{\{\s*(json\s+)?(\.[\w.]*)\s*\}\}", sub, fmt)


def docker(state: State, argv: list[str], cwd: str, env: dict[str, str], stdin: str) -> Result:
    if not argv:
        return 0, "Usage:  docker [OPTIONS] COMMAND\n", ""
    if not state.docker_works and argv[0] not in ("--version", "-v"):
        if argv[0] == "version":
            return 1, f"Client:\n Version:           {state.docker_version}\n", DOCKER_DOWN
        return 1, "", DOCKER_DOWN
    cmd, rest = argv[0], argv[1:]
    fmt = next((rest[i + 1] for i, a in enumerate(rest[:-1]) if a in ("--format", "-f")),
               next((a.split("=", 1)[1] for a in rest if a.startswith("--format=")), ""))
    if cmd in ("--version", "-v"):
        return 0, f"Docker version {state.docker_version}, build ce12230\n", ""
    if cmd == "info":
        return 0, (_template(fmt, _info(state)) + "\n") if fmt else _docker_info_text(state), ""
    if cmd == "version":
        data = {"Client": {"Version": state.docker_version, "ApiVersion": "1.47"},
                "Server": {"Version": state.docker_version, "ApiVersion": "1.47"}}
        text = (_template(fmt, data) + "\n") if fmt else (
            f"Server: Docker Engine - Community\n Engine:\n  Version:  {state.docker_version}\n")
        return 0, text, ""
    if cmd == "ps":
        names = [n.name for c in state.clusters.values() for n in c.nodes]
        return 0, "".join(f"{n}\n" for n in names), ""
    if cmd == "exec":
        return _exec(state, rest)
    if cmd == "pull" and rest:
        return _pull(state, rest[-1])
    if cmd == "image" and rest[:1] == ["inspect"]:
        image = rest[-1]
        digest = state.host_images.get(image)
        if digest is None:
            return 1, "[]\n", f"Error response from daemon: No such image: {image}\n"
        repo = image.split("@")[0].rsplit(":", 1)[0]
        return 0, f'["{repo}@{digest}"] sha256:{digest[7:]}\n', ""
    return 1, "", (f"docker: '{cmd}' is not a docker command.\nSee 'docker --help'\n")


def _pull(state: State, image: str) -> Result:
    """Every image pulls, except one whose name says it is missing (the registry's words)."""
    if "missing" in image:
        return 1, "", (f"Error response from daemon: manifest for {image} not found: "
                       "manifest unknown: manifest unknown\n")
    digest = image.split("@", 1)[1] if "@" in image else (
        "sha256:" + hashlib.sha256(image.encode()).hexdigest())
    with state.lock:
        state.host_images[image] = digest
    return 0, f"Digest: {digest}\nStatus: Downloaded newer image for {image}\n", ""


def _exec(state: State, rest: list[str]) -> Result:
    valued = {"-e", "--env", "-u", "--user", "-w", "--workdir", "--env-file"}
    i = 0
    while i < len(rest) and rest[i].startswith("-"):
        i += 2 if rest[i] in valued else 1
    if i >= len(rest):
        return 1, "", "\"docker exec\" requires at least 2 arguments.\n"
    container, command = rest[i], rest[i + 1:]
    found = state.node(container)
    rt = state.runtimes.get(container)
    if found is None or rt is None:
        return 1, "", f"Error response from daemon: No such container: {container}\n"
    files = {"/etc/containerd/config.toml": rt.containerd_config,
             "/var/lib/kubelet/config.yaml": rt.kubelet_config,
             "/kind/version": rt.kube_version + "\n"}
    if not command:
        return 1, "", "\"docker exec\" requires at least 2 arguments.\n"
    if command[0] == "cat" and len(command) == 2:
        if command[1] in files:
            return 0, files[command[1]], ""
        return 1, "", f"cat: {command[1]}: No such file or directory\n"
    if command[:2] == ["containerd", "--version"]:
        return 0, (f"containerd github.com/containerd/containerd v{rt.containerd_version} "
                   "ae71819c4f5e67bb4d5ae76a6b735f29cc25774e\n"), ""
    if command[:3] == ["containerd", "config", "dump"]:
        return 0, rt.containerd_config, ""
    if command[0] in ("true", "hostname"):
        return 0, (container + "\n") if command[0] == "hostname" else "", ""
    return 126, "", (f"OCI runtime exec failed: exec failed: unable to start container process: "
                     f"exec: \"{command[0]}\": executable file not found in $PATH: unknown\n")
