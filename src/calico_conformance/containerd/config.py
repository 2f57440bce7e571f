"""Parse containerd config.toml and give one canonical view across its versions.

containerd has three config layouts. Version 1 (no ``version`` line on
containerd 1.x) names the CRI plugin ``cri``; version 2 uses
``io.containerd.grpc.v1.cri``; version 3 (containerd 2.x) splits CRI into
``io.containerd.cri.v1.runtime`` and ``io.containerd.cri.v1.images``. Lint rules
and the node check should not care which one a user wrote.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CRI_V1 = "cri"
CRI_V2 = "io.containerd.grpc.v1.cri"
CRI_V3_RUNTIME = "io.containerd.cri.v1.runtime"
CRI_V3_IMAGES = "io.containerd.cri.v1.images"


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


def quote(key: str) -> str:
    """Quote a TOML key the way containerd's docs write it."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def table_name(*parts: str) -> str:
    return ".".join(quote(p) for p in parts)


@dataclass(frozen=True)
class Runtime:
    name: str
    table: str  # TOML table of the runtime, for messages
    runtime_type: str | None = None
    binary_name: str | None = None
    systemd_cgroup: bool | None = None  # None: not set (containerd's default, false)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerdView:
    declared_version: int | None  # the ``version`` line, or None
    version: int  # effective layout: 1, 2 or 3
    cri_table: str  # TOML table holding the ``containerd`` runtime section
    default_runtime_name: str | None
    runtimes: dict[str, Runtime]
    sandbox_image: str | None
    sandbox_image_key: str  # "table key" naming where the sandbox image is set
    disabled_plugins: tuple[str, ...]
    registry_table: str
    registry_config_path: str | None
    registry_mirrors: tuple[str, ...]
    data: dict[str, Any]

    @property
    def default_runtime(self) -> Runtime | None:
        name = self.default_runtime_name or "runc"
        return self.runtimes.get(name)

    @property
    def cri_disabled(self) -> bool:
        names = {CRI_V1, CRI_V2, CRI_V3_RUNTIME, CRI_V3_IMAGES}
        return any(p in names for p in self.disabled_plugins)


def _get(data: dict[str, Any], *keys: str) -> Any:
    cur: Any = data
    for k in keys:
        if not isinstance(cur, dict) or k not in cur:
            return None
        cur = cur[k]
    return cur


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def view(data: dict[str, Any]) -> ContainerdView:
    """The canonical view of a parsed config (effective or as written)."""
    declared = data.get("version")
    declared_version = declared if isinstance(declared, int) else None
    plugins = _dict(data.get("plugins"))
    if declared_version == 3 or (declared_version is None and CRI_V3_RUNTIME in plugins):
        version = 3
        runtime_plugin, images_plugin = CRI_V3_RUNTIME, CRI_V3_IMAGES
        sandbox_keys: tuple[str, ...] = (images_plugin, "pinned_images", "sandbox")
    elif declared_version == 2 or (declared_version is None and CRI_V2 in plugins
                                   and CRI_V1 not in plugins):
        version = 2 if declared_version == 2 else 1
        runtime_plugin = images_plugin = CRI_V2
        sandbox_keys = (CRI_V2, "sandbox_image")
    else:
        version = declared_version or 1
        runtime_plugin = images_plugin = CRI_V1 if CRI_V1 in plugins else CRI_V2
        sandbox_keys = (runtime_plugin, "sandbox_image")

    section = _dict(_get(plugins, runtime_plugin, "containerd"))
    cri_table = table_name("plugins", runtime_plugin, "containerd")
    runtimes: dict[str, Runtime] = {}
    for name, raw in _dict(section.get("runtimes")).items():
        raw = _dict(raw)
        options = _dict(raw.get("options"))
        sc = options.get("SystemdCgroup")
        rtype, binary = raw.get("runtime_type"), options.get("BinaryName")
        runtimes[name] = Runtime(
            name=name,
            table=f"{cri_table}.runtimes.{quote(name)}",
            runtime_type=rtype if isinstance(rtype, str) else None,
            binary_name=binary if isinstance(binary, str) else None,
            systemd_cgroup=sc if isinstance(sc, bool) else None,
            options=options,
        )
    sandbox = _get(plugins, *sandbox_keys)
    registry = _dict(_get(plugins, images_plugin, "registry"))
    disabled = data.get("disabled_plugins")
    return ContainerdView(
        declared_version=declared_version,
        version=version,
        cri_table=cri_table,
        default_runtime_name=section.get("default_runtime_name")
        if isinstance(section.get("default_runtime_name"), str) else None,
        runtimes=runtimes,
        sandbox_image=sandbox if isinstance(sandbox, str) else None,
        sandbox_image_key=f"[{table_name('plugins', *sandbox_keys[:-1])}] {sandbox_keys[-1]}",
        disabled_plugins=tuple(str(p) for p in disabled) if isinstance(disabled, list) else (),
        registry_table=table_name("plugins", images_plugin, "registry"),
        registry_config_path=registry.get("config_path")
        if isinstance(registry.get("config_path"), str) else None,
        registry_mirrors=tuple(_dict(registry.get("mirrors")).keys()),
        data=data,
    )


def find_line(text: str, needle: str) -> int | None:
    """1-based line of the first line containing ``needle`` (for lint messages)."""
    for i, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return i
    return None
