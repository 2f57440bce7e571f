"""Keep the host out of a probe: no host file read, no host path written, no foreign binary.

The host probe runs containerd as root on configs pasted from bug reports. So:

* every ``imports`` entry is resolved inside the probe's throw-away tree. containerd
  resolves a relative entry (and a glob) against the importing file's folder and reads
  imports of imports (services/server/config/config.go, ``resolveImports``); so each
  relative entry is resolved after following links and must stay inside the variant's
  own folder (an escape, by ``../``, a link or an import inside an import, is refused),
  and the file is copied in *isolated* like the config itself: its binaries checked,
  its host paths moved, its own imports resolved the same way. An absolute entry (a host
  path such as a kind node's ``/etc/containerd/config.toml``) is dropped;
* ``root``, ``state``, ``temp``, ``plugin_dir``, the debug socket and the registry's
  ``config_path`` move into the tree; a metrics listener is removed (no network);
* a runtime or shim binary the config names (``BinaryName``, ``runtime_path``, a v1
  ``[plugins.linux] shim``/``runtime``, v1 options' ``Runtime`` and ``CriuPath``) must be
  a known runtime or shim in a system directory, or one the user allowed
  (``--probe-allow-binary``): the node tier runs such binaries inside a node container
  instead. A shim named only by ``runtime_type`` is looked up by containerd on ``PATH``
  (runtime/v2/shim/util.go); the probe's containerd gets :data:`SYSTEM_PATH` only.

Each change is one line in ``ConfigCheck.overrides``, like the other host overrides.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from ..containerd.config import table_name, view
from ..containerd.imports import MAX_IMPORT_DEPTH, import_files
from ..datafile import parse_toml, read_text
from ..errors import InputError, RefusedBinary
from ..redact import write_private

SYSTEM_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin")
# OCI runtimes that containerd's runc shim may call (BinaryName), by name.
KNOWN_RUNTIMES = ("runc", "crun", "runsc", "youki", "kata-runtime")
# containerd's shim naming rule (runtime/v2/shim/util.go: containerd-shim-<name>-<version>).
SHIM = re.compile(r"containerd-shim-[a-z0-9]+-v[0-9]+")
SYSTEM_PATH = ":".join(SYSTEM_DIRS)
BINARY_KEYS = ("BinaryName", "runtime_path", "runtime_engine", "CriuPath")
# containerd 1.x's v1 runtime: [plugins.linux] (plugins."io.containerd.runtime.v1.linux")
# names the shim and the runtime binary; its runtime options name ``Runtime``.
V1_LINUX = ("linux", "io.containerd.runtime.v1.linux")
V1_BINARY_KEYS = ("shim", "runtime")
HOST_KEYS = ("grpc", "ttrpc", "debug", "metrics")  # the main config's isolated ones stand


@dataclass
class HostIsolation:
    notes: list[str] = field(default_factory=list)
    files: list[tuple[Path, str]] = field(default_factory=list)  # (into tree, isolated text)


def _walk(data: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    stack: list[tuple[tuple[str, ...], Any]] = [(path, data)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                yield where, str(k), v
                stack.append(((*where, str(k)), v))


def _known(binary: str, allowed: Sequence[str]) -> bool:
    if binary in allowed:
        return True
    name = os.path.basename(binary)
    if "/" in binary and os.path.dirname(binary) not in SYSTEM_DIRS:
        return False
    return name in KNOWN_RUNTIMES or SHIM.fullmatch(name) is not None


def foreign_binaries(data: dict[str, Any], allowed: Sequence[str] = ()) -> list[str]:
    """``[table] key = value`` for every binary the host probe must not run."""
    found = []
    for where, key, value in _walk(data):
        named = key in BINARY_KEYS or (key == "runtime_type" and isinstance(value, str)
                                       and "/" in value)
        named = named or (key == "path" and "stream_processors" in where)
        named = named or (key in V1_BINARY_KEYS and bool(where) and where[-1] in V1_LINUX)
        named = named or (key == "Runtime" and bool(where) and where[-1] == "options")
        if named and isinstance(value, str) and value and not _known(value, allowed):
            found.append(f"[{table_name(*where)}] {key} = {value!r}")
    return found


def refuse_foreign_binaries(data: dict[str, Any], allowed: Sequence[str] = ()) -> None:
    found = foreign_binaries(data, allowed)
    if found:
        raise RefusedBinary(
            f"refused to run {found[0]} as root on this host: not a known runtime or shim "
            f"in {', '.join(SYSTEM_DIRS[:2])}, ...; the node tier runs it inside a node "
            "container, or pass --probe-allow-binary PATH to run it here")


def isolate(data: dict[str, Any], tree: Path, variant_dir: Path | None,
            allowed: Sequence[str] = ()) -> HostIsolation:
    """Rewrite ``data`` in place so that containerd reads and writes only under ``tree``."""
    out = HostIsolation()
    _imports(data, tree, variant_dir, variant_dir, allowed, out, depth=0)
    _paths(data, tree, out)
    return out


def _paths(data: dict[str, Any], tree: Path, out: HostIsolation) -> None:
    for key in ("root", "state", "temp", "plugin_dir"):
        if key in data:
            was, data[key] = data[key], str(tree / key)
            out.notes.append(f"{key}: {was} -> the probe's temp dir")
    debug = data.get("debug")
    if isinstance(debug, dict) and "address" in debug:
        was, debug["address"] = debug["address"], str(tree / "debug.sock")
        out.notes.append(f"[debug] address: {was} -> the probe's temp dir")
    metrics = data.get("metrics")
    if isinstance(metrics, dict) and metrics.get("address"):
        out.notes.append(f"[metrics] address: {metrics.pop('address')} removed (the probe "
                         "listens on no network address)")
    cfg = view(data)
    registry = cfg.table(cfg.layout.registry) if cfg.get(cfg.layout.registry) else None
    if isinstance(registry, dict) and registry.get("config_path"):
        was, registry["config_path"] = registry["config_path"], str(tree / "certs.d")
        out.notes.append(f"[{table_name(*cfg.layout.registry)}] config_path: {was} -> an "
                         "empty folder in the probe's temp dir (no host hosts.toml is read)")


def _imports(data: dict[str, Any], tree: Path, here: Path | None, root: Path | None,
             allowed: Sequence[str], out: HostIsolation, depth: int) -> None:
    imports = data.get("imports")
    if not isinstance(imports, list):
        return
    kept: list[str] = []
    for entry in imports:
        if not isinstance(entry, str) or os.path.isabs(entry) or here is None or root is None:
            out.notes.append(f"imports: {entry} dropped (not in the variant's folder; the "
                             "probe reads no host file)")
            continue
        if depth >= MAX_IMPORT_DEPTH:
            raise InputError(f"imports: {entry!r} is nested more than {MAX_IMPORT_DEPTH} "
                             "imports deep")
        found = import_files(entry, here, root)
        if not found:
            out.notes.append(f"imports: {entry} dropped (no such file in the variant's folder)")
        for src in found:
            dst = tree / "imports" / f"{len(out.files)}-{src.name}"
            out.files.append((dst, ""))  # reserve the slot: nested imports number after it
            slot = len(out.files) - 1
            sub = parse_toml(read_text(src), path=src)
            refuse_foreign_binaries(sub, allowed)
            _imports(sub, tree, src.parent, root, allowed, out, depth + 1)
            for key in HOST_KEYS:
                if sub.pop(key, None) is not None:
                    out.notes.append(f"imports: [{key}] of {entry} removed (the probe's own "
                                     "addresses stand)")
            _paths(sub, tree, out)
            out.files[slot] = (dst, tomli_w.dumps(sub))
            kept.append(str(dst))
            out.notes.append(f"imports: {entry} -> copied from the variant's folder, isolated")
    data["imports"] = kept


def write_into_tree(files: Sequence[tuple[Path, str]]) -> None:
    for dst, text in files:
        write_private(dst, text)  # an import may hold credentials too


def raw_config(text: str, tree: Path, variant_dir: Path | None,
               allowed: Sequence[str]) -> tuple[str, list[str]]:
    """The variant text as written (when kind could not merge it), unless it parses and
    would reach the host: then isolated like any other config. Returns text and notes."""
    try:
        data = parse_toml(text)
    except InputError:
        return text, []  # containerd rejects it itself, reading nothing else
    refuse_foreign_binaries(data, allowed)
    iso = isolate(data, tree, variant_dir, allowed)
    write_into_tree(iso.files)
    return (tomli_w.dumps(data) if iso.notes else text), iso.notes
