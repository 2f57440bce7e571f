"""The fake ``kind`` command (``docker`` is in fakedocker.py), run in the StandIn's process.

``bin/kind`` and ``bin/docker`` only forward argv/cwd/stdin here and print what
comes back, so the behaviour lives in one typed, testable place. This module is
the CLI surface (flags, sub-commands, messages of pkg/cmd/kind/...); what create
and export logs do to the stand-in is in :mod:`.kindnodes`.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from .fakedocker import Result
from .kindnodes import KindError, create, export_logs, kubeconfig_doc, resolve
from .registry import State


def _flags(argv: list[str], valued: set[str],
           boolean: set[str]) -> tuple[dict[str, str], list[str]]:
    out: dict[str, str] = {}
    pos: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") or (a.startswith("-") and len(a) == 2):
            key, eq, val = a.lstrip("-").partition("=")
            if key in boolean:
                out[key] = val or "true"
            elif key in valued:
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise KindError(f"flag needs an argument: --{key}")
                    val = argv[i]
                out[key] = val
            else:
                raise KindError(f"unknown flag: {a.split('=')[0]}")
        else:
            pos.append(a)
        i += 1
    return out, pos


def kind(state: State, argv: list[str], cwd: str, env: dict[str, str], stdin: str) -> Result:
    try:
        return _kind(state, argv, cwd, env, stdin)
    except KindError as exc:
        return 1, "", f"ERROR: {exc}\n"


def _kind(state: State, argv: list[str], cwd: str, env: dict[str, str], stdin: str) -> Result:
    words = [a for a in argv if not a.startswith("-")][:2]
    cmd = " ".join(words)
    rest = argv[len(words):] if argv[:len(words)] == words else argv
    if words[:1] == ["version"]:
        return 0, f"kind {state.kind_version} go1.22.6 linux/amd64\n", ""
    if cmd == "create cluster":
        fl, _ = _flags(rest, {"name", "n", "config", "kubeconfig", "image", "wait"}, {"retain"})
        return create(state, fl, cwd, env, stdin)
    if cmd == "get clusters":
        names = sorted(state.clusters)
        return (0, "".join(f"{n}\n" for n in names), "" if names else "No kind clusters found.\n")
    if cmd == "get nodes":
        fl, _ = _flags(rest, {"name"}, {"all-clusters", "A"})
        c = state.clusters.get(fl.get("name", "kind"))
        if c is None:
            return 0, "", f'No kind nodes found for cluster "{fl.get("name", "kind")}".\n'
        return 0, "".join(f"{n.name}\n" for n in c.nodes), ""
    if cmd == "get kubeconfig":
        fl, _ = _flags(rest, {"name"}, {"internal"})
        name = fl.get("name", "kind")
        if name not in state.clusters:
            raise KindError(f'could not locate any control plane nodes for cluster named "{name}". '
                            "Use the --name option to select a different cluster")
        return 0, yaml.safe_dump(kubeconfig_doc(state, name), sort_keys=True), ""
    if cmd == "delete cluster":
        fl, _ = _flags(rest, {"name", "kubeconfig"}, set())
        name = fl.get("name", "kind")
        with state.lock:
            gone = state.clusters.pop(name, None)
            if gone:
                for n in gone.nodes:
                    state.runtimes.pop(n.name, None)
        path = fl.get("kubeconfig") or env.get("KUBECONFIG") or "~/.kube/config"
        if gone:
            _unmerge_kubeconfig(resolve(cwd, path), name)
        return 0, "", f'Deleting cluster "{name}" ...\n' + (
            f'Deleted nodes: {json.dumps([n.name for n in gone.nodes])}\n' if gone else "")
    if cmd == "load docker-image":
        fl, pos = _flags(rest, {"name", "nodes"}, set())
        name = fl.get("name", "kind")
        if name not in state.clusters:
            raise KindError(f'no nodes found for cluster "{name}"')
        absent = [i for i in pos if i not in state.host_images]
        if absent:
            raise KindError(f"image: \"{absent[0]}\" not present locally")
        with state.lock:
            state.loaded_images.setdefault(name, []).extend(pos)
        return 0, "", "".join(f'Image: "{i}" with ID "sha256:..." not yet present on node '
                              f'"{name}-control-plane", loading...\n' for i in pos)
    if cmd == "export logs":
        fl, pos = _flags(rest, {"name"}, set())
        return export_logs(state, fl.get("name", "kind"), pos, cwd)
    if not words:
        return 0, "kind creates and manages local Kubernetes clusters using Docker container " \
                  "'nodes'\n", ""
    return 1, "", (f'ERROR: unknown command "{words[0]}" for "kind"\n'
                   "Run 'kind --help' for usage.\n")


def _unmerge_kubeconfig(path: Path, name: str) -> None:
    if not path.exists():
        return
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    ctx = f"kind-{name}"
    for key in ("clusters", "contexts", "users"):
        doc[key] = [e for e in doc.get(key) or [] if e.get("name") != ctx]
    if doc.get("current-context") == ctx:
        doc["current-context"] = ""
    path.write_text(yaml.safe_dump(doc, sort_keys=True), encoding="utf-8")


