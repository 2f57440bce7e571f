"""Reading the project's data files: TOML and YAML parsed with their line numbers, and
typed reads of TOML tables, each failure one line naming the file, entry and key.

The data under ``clusters/`` is hand-edited; a wrong type there must read as the
user's mistake (``matrix.toml: profile smoke: 'workers' must be ...``), never as
an INTERNALERROR later on.
"""

from __future__ import annotations

import re
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


def parse_toml(text: str, *, path: Path | str = "<string>") -> dict[str, Any]:
    """Parse TOML, turning a syntax error into an :class:`InputError` with its line."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        if line is None and m:
            line = int(m.group(1))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        msg = getattr(exc, "msg", msg)
        raise InputError(f"invalid TOML: {msg}", path=path, line=line) from exc


def parse_yaml(text: str, *, path: Path | str, what: str = "YAML") -> Any:
    """Parse YAML, turning a syntax error into an :class:`InputError` with its line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"invalid {what}: {getattr(exc, 'problem', None) or exc}", path=path,
                         line=mark.line + 1 if mark else None) from exc


def load_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc.strerror if isinstance(exc, OSError) else exc}",
                         path=path) from exc
    return parse_toml(text, path=path)


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
