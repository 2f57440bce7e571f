"""One containerd variant: its config file and its ``.meta.toml`` sidecar, checked key by key.

The variant file stays a real containerd document (a user's whole config.toml works
unedited); what containerd would not understand lives in the sidecar.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .cells import Variant
from .containerd.imports import check_imports
from .datafile import (
    MISSING,
    choice,
    is_table,
    known_keys,
    load_toml,
    parse_toml,
    read_text,
    string,
    strs,
)
from .datafile import field as typed
from .errors import InputError
from .model import Verdict

META_SUFFIX = ".meta.toml"
# What a sidecar may expect, per tier: a kind cell never sees a probe verdict and the
# other way round, so an expectation from the wrong tier could never match (XFAIL).
KIND_VERDICTS = frozenset(v.value for v in (
    Verdict.STABLE, Verdict.RESTARTS, Verdict.NEVER_READY, Verdict.FLAPPING,
    Verdict.NOT_STARTED, Verdict.CLUSTER_FAILS))
PROBE_VERDICTS = frozenset(v.value for v in (
    Verdict.STABLE, Verdict.CONFIG_REJECTED, Verdict.CRI_UNAVAILABLE, Verdict.SANDBOX_FAILS,
    Verdict.CONTAINER_FAILS, Verdict.CONTAINER_EXITS))
# The node tier (a kind-style node with an emulated kubelet) sees the probe's classes
# plus the kubelet's kills.
NODE_VERDICTS = PROBE_VERDICTS | {Verdict.RESTARTS.value, Verdict.MISPLACED.value}
# KubeletConfiguration cgroupDriver values (k8s.io/kubelet/config/v1beta1).
CGROUP_DRIVERS = ("systemd", "cgroupfs")
# RFC 6902 section 4: the six operations a JSON patch may hold.
JSON6902_OPS = ("add", "remove", "replace", "move", "copy", "test")
# One rule for every variant name: it names cell ids, pytest ids, kind cluster configs,
# work folders and report files, so it must be a safe path component (no "..", glob
# characters, spaces, markup or terminal controls), and two names must never map to one
# file (``p q`` and ``p_q`` did).
VARIANT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def check_name(name: str, *, path: Path | str | None = None, what: str = "variant name",
               fix: str = "rename the file") -> str:
    """``name`` if it obeys :data:`VARIANT_NAME`, else one line saying the rule. Matrix
    point ids name cells and files too, and follow the same rule."""
    if not VARIANT_NAME.fullmatch(name) or ".." in name:
        raise InputError(f"{what} {name[:64]!r} is not usable: use letters, digits, "
                         "'.', '_' and '-' (starting with a letter or digit, no '..', at most "
                         f"63 characters); {fix}", path=path)
    return name


def check_recipes(variant: Variant, recipes: Iterable[str]) -> None:
    """Every ``[expected_node]`` key names a node recipe (``bookworm``, or ``bookworm-v2``
    for one cgroup version): a typo would leave the expectation silently unused."""
    known = set(recipes)
    for key in variant.expected_node:
        base = key.removesuffix("-v1").removesuffix("-v2")
        if key not in known and base not in known:
            raise InputError(f"[expected_node] {key[:64]!r}: no node recipe of that name under "
                             f"clusters/nodes (known: {', '.join(sorted(known))}; add -v1 or "
                             "-v2 for one cgroup version)", path=meta_path(variant.path))


SIDECAR_KEYS = frozenset({"description", "expected", "expected_by_calico", "expected_probe",
                          "expected_node", "references", "fix", "kubelet", "json6902",
                          "patch"})


def meta_path(variant_path: Path) -> Path:
    """Where a variant's sidecar lives: ``<name>.meta.toml`` beside ``<name>.toml``."""
    return variant_path.with_name(variant_path.name.removesuffix(".toml") + META_SUFFIX)


def _json6902_op(op: Any) -> bool:
    return (isinstance(op, dict) and op.get("op") in JSON6902_OPS
            and isinstance(op.get("path"), str))


def user_variant_name(spec: str) -> tuple[str, Path]:
    """``--variant [NAME=]PATH``: the name given, else the file's stem; a file called
    ``config.toml`` says nothing by its name, so it is ``<folder>-config``."""
    name, sep, path_text = spec.partition("=")
    if not sep or "/" in name:
        name, path_text = "", spec
    path = Path(path_text)
    if not name:
        stem = path.name.removesuffix(".toml")
        name = f"{path.resolve().parent.name}-config" if stem == "config" else stem
    try:
        check_name(name)
    except InputError as exc:
        raise InputError(f"--variant {spec}: {exc.message.split(': use')[0]}; name it with "
                         f"--variant NAME=PATH (letters, digits, '.', '_', '-')") from exc
    return name, path


def load_variant(path: Path, name: str | None = None, as_is: bool = False) -> Variant:
    """A variant file plus its optional ``<name>.meta.toml`` sidecar.

    The variant file itself stays a real containerd document (a user's whole
    config.toml works unedited); what containerd would not understand lives in
    the sidecar, checked key by key here so a typo fails the load, not the run.
    """
    text = read_text(path, "cannot read variant")

    data = parse_toml(text, path=path)  # fail early, with the line
    check_imports(data, path, path.parent)
    name = name or path.name.removesuffix(".toml")
    check_name(name, path=path)
    mpath = meta_path(path)
    meta: dict[str, Any] = load_toml(mpath) if mpath.exists() else {}
    what = "sidecar"
    known_keys(meta, SIDECAR_KEYS, mpath, what)
    by_calico = typed(meta, "expected_by_calico", mpath, what,
                       'a table of "vX.Y.Z" = "<verdict>"', is_table, {})
    for version in by_calico:
        choice(by_calico, version, KIND_VERDICTS, mpath, "expected_by_calico", MISSING)
    by_node = typed(meta, "expected_node", mpath, what,
                    'a table of "<node recipe>" = "<verdict>" (clusters/nodes/)', is_table, {})
    for recipe in by_node:
        choice(by_node, recipe, NODE_VERDICTS, mpath, "expected_node", MISSING)
    kubelet = typed(meta, "kubelet", mpath, what, "a table ([kubelet])", is_table, {})
    choice(kubelet, "cgroupDriver", CGROUP_DRIVERS, mpath, "[kubelet]")
    json6902 = typed(meta, "json6902", mpath, what,
                      f'an array of tables ([[json6902]]) with op ({"|".join(JSON6902_OPS)}) '
                      "and path", lambda v: isinstance(v, list) and all(map(_json6902_op, v)),
                      [])
    return Variant(
        name=name, path=path, text=text,
        description=string(meta, "description", mpath, what, ""),
        expected=choice(meta, "expected", KIND_VERDICTS, mpath, what),
        expected_by_calico=dict(by_calico),
        expected_probe=choice(meta, "expected_probe", PROBE_VERDICTS, mpath, what),
        expected_node=dict(by_node),
        references=strs(meta, "references", mpath, what),
        fix=string(meta, "fix", mpath, what, ""),
        kubelet=dict(kubelet),
        json6902=tuple(json6902),
        # A sidecar's ``patch = true``: the file is a containerdConfigPatches entry, merged
        # over kind's base config, whatever the command line's default.
        as_is=as_is and not typed(meta, "patch", mpath, what, "true or false",
                                  lambda v: isinstance(v, bool), False),
    )
