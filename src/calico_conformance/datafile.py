"""Reading the project's data files: TOML and YAML parsed with their line numbers, and
typed reads of TOML tables, each failure one line naming the file, entry and key.

The data under ``clusters/`` is hand-edited; a wrong type there must read as the
user's mistake (``matrix.toml: profile smoke: 'workers' must be ...``), never as
an INTERNALERROR later on.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

import yaml

from .errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MISSING: Any = object()
# Real containerd configs and kind Cluster configs are a few KiB and a dozen tables deep;
# these caps turn /dev/zero or a 500-deep inline table into one line, not a MemoryError
# or a RecursionError somewhere downstream.
MAX_INPUT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
# YAML aliases make a graph whose walk grows exponentially (a "billion laughs" document is
# 1 KiB); kind configs and kubectl output use none, so a handful is plenty.
MAX_YAML_ALIASES = 64


class LimitedLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a document with more than :data:`MAX_YAML_ALIASES`
    alias references, before anything walks the graph they make."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise yaml.YAMLError(f"more than {MAX_YAML_ALIASES} aliases (*name): "
                                     "refused, as a document that expands exponentially")
        return super().compose_node(parent, index)


def regular_file(path: Path | str, what: str = "cannot read") -> None:
    """Refuse what is not a regular file before opening it: a FIFO would block the read
    forever and a device (``/dev/zero``) never ends."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise InputError(f"{what}: {exc.strerror}", path=path) from exc
    if stat.S_ISDIR(mode):
        raise InputError(f"{what}: is a directory, not a file", path=path)
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if (
            stat.S_ISCHR(mode) or stat.S_ISBLK(mode)) else "a socket or special file"
        raise InputError(f"{what}: {kind}, not a regular file", path=path)


def read_capped(path: Path, limit: int, what: str = "cannot read") -> bytes:
    """At most ``limit + 1`` bytes of a regular file (the caller tells "too large" by the
    length); FIFOs and devices refused before they are opened."""
    regular_file(path, what)
    try:
        with open(path, "rb") as fh:
            return fh.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{what}: {exc.strerror}", path=path) from exc


def read_text(path: Path, what: str = "cannot read") -> str:
    """A UTF-8 input file, at most :data:`MAX_INPUT_BYTES`; FIFOs and devices refused."""
    data = read_capped(path, MAX_INPUT_BYTES, what)
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB; not a config "
                         "file this suite reads", path=path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{what}: not UTF-8 text", path=path) from exc


def check_depth(data: Any, *, path: Path | str, what: str) -> None:
    """Refuse documents nested deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"invalid {what}: nested more than {MAX_DEPTH} levels deep",
                             path=path)
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def parse_toml(text: str, *, path: Path | str = "<string>") -> dict[str, Any]:
    """Parse TOML, turning a syntax error into an :class:`InputError` with its line."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except RecursionError as exc:
        raise InputError(f"invalid TOML: nested more than {MAX_DEPTH} levels deep",
                         path=path) from exc
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        if line is None and m:
            line = int(m.group(1))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        msg = getattr(exc, "msg", msg)
        raise InputError(f"invalid TOML: {msg}", path=path, line=line) from exc
    check_depth(data, path=path, what="TOML")
    return data


def parse_yaml(text: str, *, path: Path | str, what: str = "YAML") -> Any:
    """Parse YAML, turning a syntax error into an :class:`InputError` with its line."""
    try:
        data = yaml.load(text, Loader=LimitedLoader)
    except RecursionError as exc:
        raise InputError(f"invalid {what}: nested more than {MAX_DEPTH} levels deep",
                         path=path) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"invalid {what}: {getattr(exc, 'problem', None) or exc}", path=path,
                         line=mark.line + 1 if mark else None) from exc
    check_depth(data, path=path, what=what)
    return data


def load_toml(path: Path) -> dict[str, Any]:
    return parse_toml(read_text(path), path=path)


def is_str(v: Any) -> bool:
    return isinstance(v, str)


def is_strs(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def is_table(v: Any) -> bool:
    return isinstance(v, dict)


def is_tables(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, dict) for x in v)


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def field(table: dict[str, Any], key: str, path: Path, what: str, want: str,
           ok: Callable[[Any], bool], default: Any = MISSING) -> Any:
    """``table[key]`` if ``ok`` says it is ``want``; else one line naming file, entry and key."""
    if key not in table:
        if default is MISSING:
            raise InputError(f"{what}: missing key {key!r}", path=path)
        return default
    value = table[key]
    if not ok(value):
        raise InputError(f"{what}: {key!r} must be {want}, not {show(value)}", path=path)
    return value


def string(table: dict[str, Any], key: str, path: Path, what: str, default: Any = MISSING,
         pattern: re.Pattern[str] | None = None, want: str = "a string") -> str:
    value = cast(str, field(table, key, path, what, want, is_str, default))
    if pattern is not None and value != default and not pattern.fullmatch(value):
        raise InputError(f"{what}: {key!r} must be {want}, not {show(value)}", path=path)
    return value


def strs(table: dict[str, Any], key: str, path: Path, what: str,
          default: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(field(table, key, path, what, "a list of strings", is_strs, list(default)))


def choice(table: dict[str, Any], key: str, choices: Iterable[str], path: Path, what: str,
            default: Any = "") -> str:
    """A string from ``choices``; the default (``""``: no expectation) is always allowed."""
    value = string(table, key, path, what, default)
    if value != default and value not in choices:
        raise InputError(f"{what}: {key} = {value!r} is not one of: "
                         f"{', '.join(sorted(choices))}", path=path)
    return value


def known_keys(table: dict[str, Any], allowed: Iterable[str], path: Path, what: str) -> None:
    """A misspelt optional key would otherwise be ignored without a word."""
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise InputError(f"{what}: unknown key {unknown[0]!r} (known: "
                         f"{', '.join(sorted(allowed))})", path=path)


def entries(path: Path, key: str) -> list[dict[str, Any]]:
    doc = load_toml(path)
    entries = field(doc, key, path, path.name, f"an array of tables ([[{key}]])",
                     is_tables, [])
    return cast(list[dict[str, Any]], entries)


def unique(out: dict[str, Any], key: str, path: Path, what: str) -> str:
    if key in out:
        raise InputError(f"{what} {key!r} is declared twice", path=path)
    return key
