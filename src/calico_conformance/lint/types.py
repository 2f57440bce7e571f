"""Type rules: every key the suite reads, held to the Go type containerd decodes it into.

containerd decodes config.toml into Go structs, so a value of the wrong TOML type is not
"unset": a string ``"true"`` for a bool, a table for a string or a string for a list is
refused. Where it is refused differs, and so does the outcome (both observed on the node
tier, containerd 1.6.20, 1.7.24 and 2.1.9, 2026-12-07, docs/observed/config-types/):

- the config's own fields (``Config``, the CRI ``PluginConfig``, ``Runtime``): containerd
  refuses the config ("Can't convert 1(int64) to string" on 1.x, "toml: cannot decode TOML
  integer into struct field config.Runtime.Type of type string" on 2.x);
- runc's options, decoded only when a sandbox is created: containerd starts, and every
  sandbox fails ("failed to generate runtime options: ... Can't convert true(string) to
  bool").

The schema is containerd's: services/server/config/config.go (``Config``),
pkg/cri/config/config.go (``PluginConfig``, ``ContainerdConfig``, ``Runtime``,
``CniConfig``, ``Registry``; internal/cri/config on 2.x) and
api/types/runc/options/oci.proto (runc ``Options``). Keys it does not know are left alone
(containerd ignores them; CC009 catches typos).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

from ..containerd.config import CRI_V1, CRI_V2, CRI_V3_IMAGES, CRI_V3_RUNTIME, get_at, table_name
from ..model import Finding, Verdict
from .context import RUNC_TYPES, LintContext

TYPE_CODE = "CC022"
STR, INT, BOOL, STRS, TABLE = "string", "integer", "boolean", "array of strings", "table"


@dataclass(frozen=True)
class MapOf:
    """A table whose every value has one schema (``runtimes``, ``mirrors``, ...)."""

    value: Schema


Schema: TypeAlias = "str | dict[str, Schema] | MapOf"

RUNC_OPTIONS: dict[str, Schema] = {
    "SystemdCgroup": BOOL, "BinaryName": STR, "Root": STR, "NoPivotRoot": BOOL,
    "NoNewKeyring": BOOL, "ShimCgroup": STR, "IoUid": INT, "IoGid": INT, "CriuPath": STR,
    "CriuImagePath": STR, "CriuWorkPath": STR}
RUNTIME: dict[str, Schema] = {
    "runtime_type": STR, "runtime_path": STR, "runtime_engine": STR, "runtime_root": STR,
    "options": TABLE, "pod_annotations": STRS, "container_annotations": STRS,
    "privileged_without_host_devices": BOOL, "base_runtime_spec": STR, "cni_conf_dir": STR,
    "cni_max_conf_num": INT, "snapshotter": STR, "sandbox_mode": STR, "sandboxer": STR}
REGISTRY: dict[str, Schema] = {
    "config_path": STR, "mirrors": MapOf({"endpoint": STRS}), "configs": MapOf(TABLE),
    "headers": MapOf(STRS)}
CRI_RUNTIME: dict[str, Schema] = {
    "containerd": {"default_runtime_name": STR, "snapshotter": STR,
                   "runtimes": MapOf(RUNTIME), "default_runtime": RUNTIME},
    "cni": {"bin_dir": STR, "bin_dirs": STRS, "conf_dir": STR, "max_conf_num": INT,
            "conf_template": STR},
    "enable_selinux": BOOL, "restrict_oom_score_adj": BOOL, "systemd_cgroup": BOOL,
    "disable_cgroup": BOOL, "disable_apparmor": BOOL, "enable_unprivileged_ports": BOOL,
    "enable_unprivileged_icmp": BOOL, "max_container_log_line_size": INT,
    "tolerate_missing_hugetlb_controller": BOOL,
    "device_ownership_from_security_context": BOOL}
CRI_IMAGES: dict[str, Schema] = {
    "sandbox_image": STR, "snapshotter": STR, "pinned_images": MapOf(STR),
    "registry": REGISTRY}
PLUGINS: dict[str, Schema] = {
    CRI_V1: {**CRI_RUNTIME, **CRI_IMAGES}, CRI_V2: {**CRI_RUNTIME, **CRI_IMAGES},
    CRI_V3_RUNTIME: CRI_RUNTIME, CRI_V3_IMAGES: CRI_IMAGES}
# ``version`` is CC006's (lint/version.py), which knows what each version line means.
CONFIG: dict[str, Schema] = {
    "root": STR, "state": STR, "temp": STR, "imports": STRS,
    "disabled_plugins": STRS, "required_plugins": STRS, "oom_score": INT,
    "grpc": {"address": STR, "uid": INT, "gid": INT},
    "proxy_plugins": MapOf({"type": STR, "address": STR}), "plugins": TABLE}
# Refused by type nowhere: a ``plugins`` that is not a table is dropped, and every plugin
# runs on its defaults (observed on all three containerd versions: the cell then behaves
# like an empty config, SystemdCgroup unset).
IGNORED = (("plugins",),)

OBSERVED = ("docs/observed/config-types/matrix.md: every wrong type below observed on "
            "kind-style nodes with containerd 1.6.20, 1.7.24 and 2.1.9, 2026-12-07")
REFS = (OBSERVED,
        "https://github.com/containerd/containerd/blob/release/1.7/pkg/cri/config/config.go",
        "https://github.com/containerd/containerd/blob/release/1.7/services/server/config/"
        "config.go")


def type_of(value: Any) -> str:
    """The TOML type of a parsed value, in TOML's words."""
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, str):
        return STR
    if isinstance(value, dict):
        return TABLE
    if isinstance(value, list):
        return "array" if any(not isinstance(v, str) for v in value) else STRS
    return type(value).__name__  # float, datetime: never what containerd wants here


def _fits(value: Any, schema: Schema) -> bool:
    if isinstance(schema, (dict, MapOf)) or schema == TABLE:
        return isinstance(value, dict)
    if schema == STRS:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return type_of(value) == schema


@dataclass(frozen=True)
class Mistype:
    path: tuple[str, ...]
    wanted: str
    value: Any
    at_sandbox: bool  # decoded when a sandbox is created (runc options), not at start

    @property
    def table(self) -> str:
        return table_name(*self.path[:-1])

    @property
    def key(self) -> str:
        return self.path[-1]


def _walk(value: Any, schema: Schema, path: tuple[str, ...]) -> Iterator[Mistype]:
    if isinstance(schema, MapOf):
        for key, item in value.items():
            yield from _check(item, schema.value, (*path, key))
    elif isinstance(schema, dict):
        for key, sub in schema.items():
            if key in value:
                yield from _check(value[key], sub, (*path, key))


def _check(value: Any, schema: Schema, path: tuple[str, ...]) -> Iterator[Mistype]:
    if not _fits(value, schema):
        wanted = TABLE if isinstance(schema, (dict, MapOf)) else schema
        yield Mistype(path, wanted, value, at_sandbox=False)
    else:
        yield from _walk(value, schema, path)


def mistypes(data: dict[str, Any]) -> Iterator[Mistype]:
    """Every value containerd would refuse for its type, in document order of the schema."""
    yield from _walk(data, CONFIG, ())
    plugins = data.get("plugins")
    if not isinstance(plugins, dict):
        return
    for plugin, schema in PLUGINS.items():
        if plugin in plugins:
            yield from _check(plugins[plugin], schema, ("plugins", plugin))
        runtimes = get_at(plugins, (plugin, "containerd", "runtimes"))
        for name, rt in (runtimes.items() if isinstance(runtimes, dict) else ()):
            if not isinstance(rt, dict) or not isinstance(rt.get("options"), dict):
                continue
            rtype = rt.get("runtime_type")
            if isinstance(rtype, str) and rtype and rtype not in RUNC_TYPES:
                continue  # another shim's options: its own schema
            base = ("plugins", plugin, "containerd", "runtimes", name, "options")
            for m in _walk(rt["options"], RUNC_OPTIONS, base):
                yield Mistype(m.path, m.wanted, m.value, at_sandbox=True)



def _shown(value: Any) -> str:
    """`` (1)``: a scalar as written, cut; nothing for a table or an array."""
    if isinstance(value, (dict, list)):
        return ""
    text = repr(value)
    return f" ({text})" if len(text) <= 60 else f" ({text[:57]}...)"


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


# How containerd names the types in its refusals: BurntSushi/toml's "Can't convert 1(int64)
# to string" on 1.x, go-toml v2's "cannot decode TOML integer into ... of type string" on 2.x.
GO = {STR: "string", INT: "int", BOOL: "bool", STRS: "[]string", TABLE: "map"}
GO_VALUE = {STR: "string", INT: "int64", BOOL: "bool", TABLE: "map"}


def _refusal(m: Mistype, containerd: tuple[int, int, int]) -> str:
    got = type_of(m.value)
    if containerd >= (2, 0, 0):
        return f"toml: cannot decode TOML {got} into ... of type {GO[m.wanted]}"
    shown = m.value if isinstance(m.value, (str, int)) else "..."
    return f"Can't convert {shown}({GO_VALUE.get(got, '[]interface {}')}) to {GO[m.wanted]}"


def empty_runtime_types(data: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    """Runtimes whose ``runtime_type = ""``: set, so no version fills in its default, and
    empty, so every container fails (observed on 1.6.20, 1.7.24 and 2.1.9: "create
    container failed validation: container.Runtime.Name must be set")."""
    for plugin in PLUGINS:
        runtimes = get_at(data, ("plugins", plugin, "containerd", "runtimes"))
        for name, rt in (runtimes.items() if isinstance(runtimes, dict) else ()):
            if isinstance(rt, dict) and rt.get("runtime_type") == "":
                yield ("plugins", plugin, "containerd", "runtimes", name)


def wrong_types(ctx: LintContext) -> Iterator[Finding]:
    for path in empty_runtime_types(ctx.view.data):
        yield ctx.finding(
            TYPE_CODE, "error",
            "runtime_type is an empty string: containerd takes it as set, fills in no "
            "default, and every container fails (\"create container failed validation: "
            "container.Runtime.Name must be set\"), and no pod starts",
            table=table_name(*path), key="runtime_type", predicted=Verdict.CLUSTER_FAILS.value,
            references=REFS, fix='Set runtime_type = "io.containerd.runc.v2".')
    for m in mistypes(ctx.view.data):
        if m.path in IGNORED:
            yield ctx.finding(
                TYPE_CODE, "warning",
                f"{m.key} is {_a(type_of(m.value))}, not a table: containerd ignores it and "
                "runs every plugin on its defaults (observed), so nothing this file sets "
                "for a plugin applies",
                table=m.table, key=m.key, references=REFS,
                fix=f"Write {m.key} as a table of plugin tables, [plugins.\"<id>\"].")
            continue
        got = type_of(m.value)
        refusal = _refusal(m, ctx.containerd)[:120]
        outcome = (f'containerd starts, but every sandbox fails ("failed to generate runtime '
                   f'options: {refusal}")' if m.at_sandbox else
                   f'containerd refuses the config ("{refusal}")')
        spelled = m.value.strip().lower() if isinstance(m.value, str) else None
        quoted = m.wanted == BOOL and spelled in ("true", "false")
        yield ctx.finding(
            TYPE_CODE, "error",
            f"{m.key} is {_a(got)}{_shown(m.value)}, but containerd decodes it into "
            f"a Go {GO[m.wanted]}" + (f" (quoted, {spelled} is a string)" if quoted else "")
            + f": {outcome}, and no pod starts",
            table=m.table, key=m.key, predicted=Verdict.CLUSTER_FAILS.value, references=REFS,
            fix=f"Write {m.key} as {_a(m.wanted)}" + (f": {m.key} = {spelled}" if quoted else "")
            + ".")
