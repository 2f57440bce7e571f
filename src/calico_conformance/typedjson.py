"""JSON ⇄ frozen dataclasses, checked field by field.

Stored results are read back from files a user may have edited, merged from another
machine or truncated by a kill; a wrong type must become one :class:`ModelError`
naming the field (``cells[3].repeat: expected an integer, not a string``), never a
TypeError deep inside a renderer, and a string must never explode into a list of
characters where the model wants a list.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from enum import Enum
from typing import Any, TypeVar, Union

from .errors import ModelError

T = TypeVar("T")


def to_dict(obj: Any, lean: bool = False) -> Any:
    """Plain JSON-ready data; enums become their values. ``lean`` leaves out every field
    that holds its default (the reader fills it back in), for documents of many cells."""
    return _to_dict(obj, {}, lean)


_NO_DEFAULT = object()


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    """Each field's name and default value (``_NO_DEFAULT`` when it has none)."""
    out = []
    for f in dataclasses.fields(cls):
        default = (f.default if f.default is not dataclasses.MISSING else
                   f.default_factory() if f.default_factory is not dataclasses.MISSING
                   else _NO_DEFAULT)
        out.append((f.name, default))
    return tuple(out)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _to_dict(obj: Any, seen: dict[int, Any], lean: bool) -> Any:
    if type(obj) in _PLAIN:  # most values: the fast path (10,000-cell matrices)
        return obj
    # The model is frozen: one object shared by many cells (a merged or synthetic matrix)
    # is converted once. The objects are alive for the whole call, so ids are stable.
    cls: type = type(obj)
    if hasattr(cls, "__dataclass_fields__"):
        done = seen.get(id(obj))
        if done is None:
            done = seen[id(obj)] = {}
            for name, default in _fields(cls):
                value = getattr(obj, name)
                if not (lean and value == default):
                    done[name] = _to_dict(value, seen, lean)
        return done
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, (list, tuple)):
        return [_to_dict(v, seen, lean) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _to_dict(v, seen, lean) for k, v in obj.items()}
    return obj


_SCALARS: dict[Any, tuple[type, ...]] = {str: (str,), int: (int,), float: (int, float),
                                          bool: (bool,)}
_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _kind(data: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null", int: "an integer", float: "a number"}.get(type(data), "a value")


def _bad(where: str, want: str, data: Any) -> ModelError:
    return ModelError(f"{where or 'the document'}: expected {want}, not {_kind(data)}")


def _build(tp: Any, data: Any, where: str) -> Any:
    """Check ``data`` against the type hint ``tp`` (no coercion but int → float)."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if data is None else _build(args[0], data, where)
    if origin is tuple:
        (inner, *_rest) = typing.get_args(tp)
        if not isinstance(data, list):  # a string would explode into characters
            raise _bad(where, "an array", data)
        return tuple(_build(inner, v, f"{where}[{i}]") for i, v in enumerate(data))
    if origin is dict:
        _k, v_tp = typing.get_args(tp)
        if not isinstance(data, dict):
            raise _bad(where, "an object", data)
        return {k: _build(v_tp, v, f"{where}.{k}") for k, v in data.items()}
    if isinstance(tp, type) and issubclass(tp, Enum):
        if not isinstance(data, str) or data not in {m.value for m in tp}:
            raise ModelError(f"{where}: {str(data)[:40]!r} is not one of: "
                             f"{', '.join(m.value for m in tp)}")
        return tp(data)
    if dataclasses.is_dataclass(tp):
        return _from_dict(tp, data, where)  # type: ignore[arg-type]
    allowed = _SCALARS.get(tp)
    if allowed is not None:
        if (isinstance(data, bool) and tp is not bool) or not isinstance(data, allowed):
            raise _bad(where, _NAMES[tp], data)
        return float(typing.cast(float, data)) if tp is float else data
    return data


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)  # slow (it evaluates strings): once per class


def _from_dict(cls: type[T], data: Any, where: str,
               given: dict[str, Any] | None = None) -> T:
    if not isinstance(data, dict):
        raise _bad(where, "an object", data)
    hints = _hints(typing.cast(type, cls))
    kwargs = dict(given or {})
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name in kwargs:
            continue
        if f.name in data:
            kwargs[f.name] = _build(hints[f.name], data[f.name],
                                    f"{where}.{f.name}" if where else f.name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ModelError(f"{where or 'the document'}: missing {f.name!r}")
    return cls(**kwargs)


def from_dict(cls: type[T], data: Any, where: str = "",
              given: dict[str, Any] | None = None) -> T:
    """Inverse of :func:`to_dict`, checking every field's type (:class:`ModelError` names
    the field, under ``where``); unknown keys are ignored for forward compatibility.
    ``given`` holds fields already built (a pooled value shared by many cells)."""
    return _from_dict(cls, data, where, given)


def build(tp: Any, data: Any, where: str) -> Any:
    """One value checked against a type hint (``field_types`` gives a class's hints)."""
    return _build(tp, data, where)


def field_types(cls: type) -> dict[str, Any]:
    return _hints(cls)


def loads(text: str) -> Any:
    """``json.loads`` whose every failure (syntax, nesting too deep) is a :class:`ModelError`."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise ModelError("JSON nested too deeply") from exc
    except ValueError as exc:
        raise ModelError(f"not JSON: {exc}") from exc


