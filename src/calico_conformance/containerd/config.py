"""Parse containerd config.toml and give one canonical view across its versions.

containerd has three config layouts. Version 1 (no ``version`` line on
containerd 1.x) names the CRI plugin ``cri``; version 2 uses
``io.containerd.grpc.v1.cri``; version 3 (containerd 2.x) splits CRI into
``io.containerd.cri.v1.runtime`` and ``io.containerd.cri.v1.images``. Lint rules
and the node check should not care which one a user wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

CRI_V1 = "cri"
CRI_V2 = "io.containerd.grpc.v1.cri"
CRI_V3_RUNTIME = "io.containerd.cri.v1.runtime"
CRI_V3_IMAGES = "io.containerd.cri.v1.images"
# Every plugin id that is (part of) the CRI plugin, in any layout.
CRI_PLUGINS = (CRI_V1, CRI_V2, CRI_V3_RUNTIME, CRI_V3_IMAGES)

KeyPath = tuple[str, ...]


def runtime_plugin_read(declared: object, containerd: tuple[int, int, int]) -> KeyPath:
    """The CRI runtime plugin table that containerd ``containerd`` really reads in a
    document whose ``version`` line is ``declared`` (None: no line). containerd 1.x keys a
    version-less file by short plugin id (services/server/config/config.go) and reads a
    version 3 file, where it does not refuse it, as version 2 (containerd#9198). 2.x
    migrates a version 2 file from its own tables, but reads a version-less file's CRI
    tables not at all (observed on 2.1.9: "Ignoring unknown key in TOML for plugin"
    io.containerd.grpc.v1.cri), only its own plugin ids."""
    if containerd >= (2, 0, 0):
        return ("plugins", CRI_V2 if declared == 2 else CRI_V3_RUNTIME)
    if declared is None or declared == 1:
        return ("plugins", CRI_V1)
    return ("plugins", CRI_V2)


@dataclass(frozen=True)
class Layout:
    """Where one config layout keeps each CRI setting, as key paths from the document root.

    containerd 2.x (version 3) moved the sandbox image to ``pinned_images.sandbox`` and
    the snapshotter and registry to the images plugin; everything that reads or writes
    these settings goes through here so no caller knows table names.
    """

    runtime_plugin: KeyPath  # the CRI runtime plugin: cni, restrict_oom_score_adj, ...
    images_plugin: KeyPath
    sandbox_image: KeyPath  # the key itself, not its table
    snapshotter: KeyPath  # the key itself

    @property
    def containerd(self) -> KeyPath:
        """The ``containerd`` section: default_runtime_name and runtimes."""
        return (*self.runtime_plugin, "containerd")

    @property
    def cni(self) -> KeyPath:
        return (*self.runtime_plugin, "cni")

    @property
    def registry(self) -> KeyPath:
        return (*self.images_plugin, "registry")

    def runtime(self, name: str) -> KeyPath:
        return (*self.containerd, "runtimes", name)


def layout_for(version: int, plugins: dict[str, Any]) -> Layout:
    if version == 3:
        rt, im = ("plugins", CRI_V3_RUNTIME), ("plugins", CRI_V3_IMAGES)
        return Layout(rt, im, (*im, "pinned_images", "sandbox"), (*im, "snapshotter"))
    cri = ("plugins", CRI_V1 if version == 1 and CRI_V1 in plugins else CRI_V2)
    if version == 1 and CRI_V1 not in plugins and CRI_V2 not in plugins:
        cri = ("plugins", CRI_V1)
    return Layout(cri, cri, (*cri, "sandbox_image"), (*cri, "containerd", "snapshotter"))


def table_at(data: dict[str, Any], path: KeyPath) -> dict[str, Any]:
    """The table at ``path``, created (and any non-table in the way replaced) if absent."""
    cur = data
    for key in path:
        nxt = cur.get(key)
        if not isinstance(nxt, dict):
            nxt = {}
            cur[key] = nxt
        cur = nxt
    return cur


def get_at(data: dict[str, Any], path: KeyPath) -> Any:
    """The value at ``path``, or None."""
    cur: Any = data
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return cur


def set_at(data: dict[str, Any], path: KeyPath, value: Any) -> Any:
    """Set the key at ``path`` (tables created on the way); returns the old value or None."""
    table = table_at(data, path[:-1])
    old = table.get(path[-1])
    table[path[-1]] = value
    return old


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
    layout: Layout

    @property
    def default_runtime(self) -> Runtime | None:
        name = self.default_runtime_name or "runc"
        return self.runtimes.get(name)

    @property
    def cri_disabled(self) -> bool:
        return any(p in CRI_PLUGINS for p in self.disabled_plugins)

    @property
    def snapshotter(self) -> str:
        """The CRI snapshotter, containerd's default (overlayfs) when unset."""
        value = self.get(self.layout.snapshotter)
        return value if isinstance(value, str) and value else "overlayfs"

    def get(self, path: KeyPath) -> Any:
        return get_at(self.data, path)

    def set(self, path: KeyPath, value: Any) -> Any:
        """Write into this view's document (callers adapt a copy); returns the old value."""
        return set_at(self.data, path, value)

    def table(self, path: KeyPath) -> dict[str, Any]:
        return table_at(self.data, path)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def view(data: dict[str, Any]) -> ContainerdView:
    """The canonical view of a parsed config (effective or as written)."""
    declared = data.get("version")
    declared_version = declared if isinstance(declared, int) else None
    plugins = _dict(data.get("plugins"))
    if declared_version == 3 or (declared_version is None and CRI_V3_RUNTIME in plugins):
        version = 3
    elif declared_version == 2 or (declared_version is None and CRI_V2 in plugins
                                   and CRI_V1 not in plugins):
        version = 2 if declared_version == 2 else 1
    else:
        version = declared_version or 1
    layout = layout_for(version, plugins)
    section = _dict(get_at(data, layout.containerd))
    cri_table = table_name(*layout.containerd)
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
    sandbox = get_at(data, layout.sandbox_image)
    registry = _dict(get_at(data, layout.registry))
    disabled = data.get("disabled_plugins")
    return ContainerdView(
        declared_version=declared_version,
        version=version,
        cri_table=cri_table,
        default_runtime_name=section.get("default_runtime_name")
        if isinstance(section.get("default_runtime_name"), str) else None,
        runtimes=runtimes,
        sandbox_image=sandbox if isinstance(sandbox, str) else None,
        sandbox_image_key=f"[{table_name(*layout.sandbox_image[:-1])}] "
                          f"{layout.sandbox_image[-1]}",
        disabled_plugins=tuple(str(p) for p in disabled) if isinstance(disabled, list) else (),
        registry_table=table_name(*layout.registry),
        registry_config_path=registry.get("config_path")
        if isinstance(registry.get("config_path"), str) else None,
        registry_mirrors=tuple(_dict(registry.get("mirrors")).keys()),
        data=data,
        layout=layout,
    )
