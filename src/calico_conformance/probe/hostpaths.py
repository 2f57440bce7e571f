"""Keep the host out of a probe: no host file read, no host path written, no foreign binary.

The host probe runs containerd as root on configs pasted from bug reports. So:

* every ``imports`` entry is resolved inside the probe's throw-away tree: a relative
  entry that exists in the variant's own folder is copied there, anything else (host
  paths such as a kind node's ``/etc/containerd/config.toml``) is dropped;
* ``root``, ``state``, ``temp``, ``plugin_dir``, the debug socket and the registry's
  ``config_path`` move into the tree; a metrics listener is removed (no network);
* a runtime or shim binary the config names must be a known runtime or shim in a
  system directory, or one the user allowed (``--probe-allow-binary``): the node tier
  runs such binaries inside a node container instead.

Each change is one line in ``ConfigCheck.overrides``, like the other host overrides.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from ..containerd.config import table_name, view
from ..datafile import parse_toml
from ..errors import InputError, RefusedBinary

SYSTEM_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin")
# OCI runtimes that containerd's runc shim may call (BinaryName), by name.
KNOWN_RUNTIMES = ("runc", "crun", "runsc", "youki", "kata-runtime")
# containerd's shim naming rule (runtime/v2/shim/util.go: containerd-shim-<name>-<version>).
SHIM = re.compile(r"containerd-shim-[a-z0-9]+-v[0-9]+")
BINARY_KEYS = ("BinaryName", "runtime_path", "runtime_engine")


@dataclass
class HostIsolation:
    notes: list[str] = field(default_factory=list)
    copies: list[tuple[Path, Path]] = field(default_factory=list)  # (from variant, into tree)


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


def isolate(data: dict[str, Any], tree: Path, variant_dir: Path | None) -> HostIsolation:
    """Rewrite ``data`` in place so that containerd reads and writes only under ``tree``."""
    out = HostIsolation()
    imports = data.get("imports")
    if isinstance(imports, list):
        kept: list[str] = []
        for entry in imports:
            src = variant_dir / entry if variant_dir and isinstance(entry, str) else None
            if src is not None and not os.path.isabs(entry) and src.is_file():
                dst = tree / "imports" / f"{len(kept)}-{src.name}"
                out.copies.append((src, dst))
                kept.append(str(dst))
                out.notes.append(f"imports: {entry} -> copied from the variant's folder")
            else:
                out.notes.append(f"imports: {entry} dropped (not in the variant's folder; the "
                                 "probe reads no host file)")
        data["imports"] = kept
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
    return out


def copy_into_tree(copies: Sequence[tuple[Path, Path]]) -> None:
    for src, dst in copies:
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)


def raw_config(text: str, tree: Path, variant_dir: Path | None,
               allowed: Sequence[str]) -> tuple[str, list[str]]:
    """The variant text as written (when kind could not merge it), unless it parses and
    would reach the host: then isolated like any other config. Returns text and notes."""
    try:
        data = parse_toml(text)
    except InputError:
        return text, []  # containerd rejects it itself, reading nothing else
    refuse_foreign_binaries(data, allowed)
    iso = isolate(data, tree, variant_dir)
    copy_into_tree(iso.copies)
    return (tomli_w.dumps(data) if iso.notes else text), iso.notes
