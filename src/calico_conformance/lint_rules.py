"""The preflight lint rules: what a containerd config will do to calico-node, before any cluster.

Each rule reads a :class:`LintContext` (the effective config's canonical view plus what
the node brings: kubelet cgroup driver, containerd version, shims, pinned pause image)
and yields :class:`~calico_conformance.model.Finding` objects naming the exact TOML
table and key. Rules are judged on what containerd will *actually* use (the default
runtime, the merged config), not on what a file happens to mention.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .containerd import ContainerdView, Runtime, SkippedPatch
from .containerd.config import CRI_V1, CRI_V2, CRI_V3_IMAGES, CRI_V3_RUNTIME, quote, table_name
from .model import Finding, Verdict

RUNC_TYPES = ("io.containerd.runc.v2", "io.containerd.runc.v1")
# runc shim options (containerd runc.v2 Options; the defaults containerd writes for runc).
RUNC_OPTIONS = ("SystemdCgroup", "BinaryName", "Root", "CriuPath", "NoPivotRoot",
                "NoNewKeyring", "ShimCgroup", "IoUid", "IoGid", "CriuImagePath", "CriuWorkPath")
CRI_NAMES = (CRI_V1, CRI_V2, CRI_V3_RUNTIME, CRI_V3_IMAGES)

CGROUP_REFS = ("https://github.com/kubernetes/kubernetes/issues/110177",
               "https://github.com/containerd/containerd/issues/7276",
               "https://kubernetes.io/docs/setup/production-environment/container-runtimes/"
               "#containerd-systemd")
REGISTRY_REFS = ("https://github.com/containerd/containerd/pull/4978",
                 "https://github.com/containerd/containerd/pull/5304",
                 "https://github.com/containerd/containerd/blob/main/docs/hosts.md")


@dataclass(frozen=True)
class LintContext:
    view: ContainerdView
    kubelet_cgroup_driver: str
    containerd: tuple[int, int, int]
    shims: tuple[str, ...] | None  # None: unknown (a standalone file on an unknown node)
    pinned_pause: str | None
    skipped: tuple[SkippedPatch, ...]
    source_text: str
    path: str
    standalone: bool
    ignored_tables: tuple[str, ...] = ()  # full-URI plugin tables a version-1 read skips

    def locate(self, table: str, key: str = "") -> int | None:
        return locate(self.source_text, table, key)

    def finding(self, code: str, severity: str, message: str, *, table: str = "", key: str = "",
                predicted: str = "", references: tuple[str, ...] = (), fix: str = "",
                line: int | None = None) -> Finding:
        return Finding(code=code, severity=severity, message=message, table=table, key=key,
                       predicted=predicted, references=references, fix=fix, path=self.path,
                       line=line if line is not None else self.locate(table, key))


def _norm(header: str) -> str:
    return re.sub(r"[\s\"']", "", header)


def locate(text: str, table: str, key: str = "") -> int | None:
    """1-based line of ``key`` inside ``[table]`` (or of the table header) in ``text``."""
    want = _norm(table)
    current, header_line = "", None
    fallback = None
    for i, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        m = re.fullmatch(r"\[\[?(.+?)\]\]?", line)
        if m:
            current = _norm(m.group(1))
            if current == want and header_line is None:
                header_line = i
            continue
        if key and re.match(rf"[\"']?{re.escape(key)}[\"']?\s*=", line):
            if current == want:
                return i
            if fallback is None and (current.startswith(want) or want.startswith(current)):
                fallback = i
    if key and fallback is not None:
        return fallback
    return header_line


def default_runtime(ctx: LintContext) -> Runtime | None:
    """The runtime containerd will use for pods without a RuntimeClass.

    A standalone file is merged over containerd's built-in defaults, which define
    ``runc`` (runc.v2, no options): a missing runc table is not undefined there.
    """
    view = ctx.view
    rt = view.default_runtime
    name = view.default_runtime_name or "runc"
    if rt is None and ctx.standalone and name == "runc":
        return Runtime(name="runc", table=f"{view.cri_table}.runtimes.runc",
                       runtime_type=RUNC_TYPES[0])
    return rt


def _is_runc(rt: Runtime) -> bool:
    return rt.runtime_type is None or rt.runtime_type in RUNC_TYPES


# --- the rules -----------------------------------------------------------------------------

def cgroup_driver(ctx: LintContext) -> Iterator[Finding]:
    rt = default_runtime(ctx)
    if rt is None or not _is_runc(rt) or ctx.view.cri_disabled:
        return
    table = f"{rt.table}.options"
    systemd = bool(rt.systemd_cgroup)
    if ctx.kubelet_cgroup_driver == "systemd" and not systemd:
        state = "false" if rt.systemd_cgroup is False else "unset (containerd's default: false)"
        # kubelet on systemd, runc on cgroupfs: sandboxes are killed and recreated
        # (SandboxChanged) -- kubernetes/kubernetes#110177, containerd/containerd#7276.
        yield ctx.finding(
            "CC001", "error",
            f"the kubelet uses the systemd cgroup driver but the default runtime "
            f"{rt.name!r} has SystemdCgroup {state}: runc puts containers in cgroupfs paths, "
            "pods get SandboxChanged and are killed and recreated",
            table=table, key="SystemdCgroup", predicted=Verdict.RESTARTS.value,
            references=CGROUP_REFS,
            fix=f"Set SystemdCgroup = true under [{table}].",
            line=ctx.locate(table, "SystemdCgroup") or ctx.locate(rt.table))
    elif ctx.kubelet_cgroup_driver == "cgroupfs" and systemd:
        # runc refuses a cgroupfs-style path when told to use systemd:
        # 'expected cgroupsPath to be of format "slice:prefix:name"' (containerd/containerd#4857).
        yield ctx.finding(
            "CC002", "error",
            f"the kubelet uses the cgroupfs driver but the default runtime {rt.name!r} has "
            "SystemdCgroup = true: runc refuses every sandbox (expected cgroupsPath to be of "
            'format "slice:prefix:name")',
            table=table, key="SystemdCgroup", predicted=Verdict.CLUSTER_FAILS.value,
            references=("https://github.com/containerd/containerd/issues/4857", CGROUP_REFS[2]),
            fix="Use one driver on both sides: kubelet cgroupDriver: systemd with "
                "SystemdCgroup = true (or cgroupfs with SystemdCgroup = false).")


def undefined_default_runtime(ctx: LintContext) -> Iterator[Finding]:
    view = ctx.view
    if default_runtime(ctx) is not None or view.cri_disabled:
        return
    name = view.default_runtime_name or "runc"
    # containerd's ValidatePluginConfig: "no corresponding runtime configured in
    # `containerd.runtimes` for `containerd` `default_runtime_name`"; the CRI plugin does not load.
    yield ctx.finding(
        "CC003", "error",
        f"default_runtime_name = {name!r} but no [{view.cri_table}.runtimes.{quote(name)}] "
        "table defines it: the CRI plugin refuses to load",
        table=view.cri_table, key="default_runtime_name", predicted=Verdict.CLUSTER_FAILS.value,
        references=("https://github.com/containerd/containerd/blob/main/docs/cri/config.md",),
        fix=f"Define [{view.cri_table}.runtimes.{quote(name)}] or set default_runtime_name = "
            '"runc".')


def missing_shim(ctx: LintContext) -> Iterator[Finding]:
    if ctx.shims is None or ctx.view.cri_disabled:
        return
    default = default_runtime(ctx)
    for rt in ctx.view.runtimes.values():
        if rt.runtime_type is None or rt.runtime_type in ctx.shims:
            continue
        is_default = default is not None and rt.name == default.name
        shim = "containerd-shim-" + "-".join(rt.runtime_type.split(".")[-2:])
        if is_default:
            yield ctx.finding(
                "CC004", "error",
                f"the default runtime {rt.name!r} needs runtime_type {rt.runtime_type!r} "
                f"({shim}), which the node image does not ship: no sandbox can start, "
                "control plane included",
                table=rt.table, key="runtime_type", predicted=Verdict.CLUSTER_FAILS.value,
                references=("https://gvisor.dev/docs/user_guide/containerd/quick_start/",),
                fix="Keep runc as default_runtime_name and select this runtime per pod with a "
                    f"RuntimeClass, after installing {shim} on every node.")
        else:
            # Merely defined is harmless: only pods whose RuntimeClass names this handler fail.
            yield ctx.finding(
                "CC004", "warning",
                f"runtime {rt.name!r} needs runtime_type {rt.runtime_type!r} ({shim}), which "
                "the node image does not ship: pods whose RuntimeClass selects it will not "
                "start (calico-node uses the default runtime and is not affected)",
                table=rt.table, key="runtime_type",
                references=("https://kubernetes.io/docs/concepts/containers/runtime-class/",),
                fix=f"Install {shim} on every node before a RuntimeClass uses handler "
                    f"{rt.name!r}, or remove the table.")


def cri_disabled(ctx: LintContext) -> Iterator[Finding]:
    names = [p for p in ctx.view.disabled_plugins if p in CRI_NAMES]
    if not names:
        return
    yield ctx.finding(
        "CC005", "error",
        f"disabled_plugins contains {', '.join(repr(n) for n in names)}: containerd serves no "
        "CRI, the kubelet has no runtime to talk to",
        key="disabled_plugins", predicted=Verdict.CLUSTER_FAILS.value,
        references=("https://github.com/containerd/containerd/issues/8139",
                    "https://github.com/kubernetes/kubernetes/issues/110300"),
        fix=f"Remove {', '.join(repr(n) for n in names)} from disabled_plugins.",
        line=ctx.locate("", "disabled_plugins"))


def config_version(ctx: LintContext) -> Iterator[Finding]:
    raw = ctx.view.data.get("version")
    if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int)):
        yield ctx.finding("CC006", "error", f"version = {raw!r} is not an integer: containerd "
                          "refuses to start", key="version", line=ctx.locate("", "version"),
                          predicted=Verdict.CLUSTER_FAILS.value,
                          fix="Use version = 2 on containerd 1.x, version = 3 on 2.x.")
        return
    declared = ctx.view.declared_version
    major = ctx.containerd[0]
    version = declared if declared is not None else 1
    ctrd = ".".join(str(x) for x in ctx.containerd)
    line = ctx.locate("", "version")
    if version > 3 or version < 1:
        yield ctx.finding("CC006", "error",
                          f"version = {version} is not a containerd config version "
                          "(known: 1, 2, 3)", key="version",
                          predicted=Verdict.CLUSTER_FAILS.value, line=line,
                          references=("https://github.com/containerd/containerd/blob/main/"
                                      "docs/PLUGINS.md#version-header",),
                          fix="Use version = 2 on containerd 1.x, version = 3 on 2.x.")
    elif version == 3 and major < 2:
        # containerd >= 1.7.17 / 1.6.32 refuse configs newer than version 2
        # (containerd/containerd#10165, #10234); older 1.x silently misreads them (#9198).
        refuses = ctx.containerd >= (1, 7, 17) or (1, 6, 32) <= ctx.containerd < (1, 7, 0)
        yield ctx.finding(
            "CC006", "error",
            f"version = 3 needs containerd >= 2.0, the node runs {ctrd}: "
            + ("containerd refuses to start" if refuses else
               "containerd ignores the io.containerd.cri.v1.* tables"),
            key="version", line=line,
            predicted=Verdict.CLUSTER_FAILS.value if refuses else "",
            references=("https://github.com/containerd/containerd/pull/10165",
                        "https://github.com/containerd/containerd/issues/9198"),
            fix="Write a version = 2 config (io.containerd.grpc.v1.cri tables) for containerd 1.x.")
    elif major >= 2 and version < 3 and declared is not None and ctx.standalone:
        # Only for a whole file: on kind the base's version is kind's business, not the user's.
        yield ctx.finding(
            "CC006", "info",
            f"version = {version} on containerd {ctrd}: containerd migrates it to version 3 "
            "on every start",
            key="version", line=line,
            references=("https://github.com/containerd/containerd/blob/main/docs/PLUGINS.md"
                        "#version-header",),
            fix="Run `containerd config migrate` and keep the version = 3 result.")


def skipped_patches(ctx: LintContext) -> Iterator[Finding]:
    # kind's ContainerdTOML skips a patch whose version differs from the base, silently
    # (pkg/internal/patch/toml.go).
    for skip in ctx.skipped:
        yield ctx.finding(
            "CC007", "warning",
            skip.describe() + "; none of its settings reach the node",
            key="version", line=ctx.locate("", "version"),
            references=("https://github.com/kubernetes-sigs/kind/blob/main/pkg/internal/patch/"
                        "toml.go",),
            fix=f"Write the patch for a version = {skip.base_version} config, or drop its "
                "version line (kind applies version-less patches).")


def missing_version(ctx: LintContext) -> Iterator[Finding]:
    # Only a whole config.toml: kind applies version-less patches to any base.
    if not ctx.standalone or "version" in ctx.view.data:
        return
    uri_tables = ctx.ignored_tables
    detail = ""
    if uri_tables:
        # containerd 1.x Config.Decode keys version-1 plugins by short id ("cri"), so
        # full-URI tables are never read (services/server/config/config.go).
        detail = (f": containerd {ctx.containerd[0]}.x reads it as version 1 and ignores the "
                  + ", ".join(f'[plugins."{p}"]' for p in uri_tables) + " tables")
    elif ctx.containerd[0] >= 2:
        # containerd 2.0 dropped version 1 (containerd/containerd#10905).
        detail = f": containerd {ctx.containerd[0]}.x no longer reads version 1 configs"
    yield ctx.finding(
        "CC008", "warning",
        "no version line; containerd treats the file as version 1" + detail,
        key="version", line=1,
        references=("https://github.com/containerd/containerd/blob/main/docs/PLUGINS.md"
                    "#version-header",
                    "https://github.com/containerd/containerd/issues/10905"),
        fix="Add `version = 2` (containerd 1.x) or `version = 3` (containerd 2.x) at the top.")


def option_typos(ctx: LintContext) -> Iterator[Finding]:
    for rt in ctx.view.runtimes.values():
        if not _is_runc(rt):
            continue
        for key in rt.options:
            if key in RUNC_OPTIONS:
                continue
            close = difflib.get_close_matches(key, RUNC_OPTIONS, n=1, cutoff=0.7)
            if not close or close[0] in rt.options:
                continue
            # systemCgroup for SystemdCgroup: kubernetes-sigs/kubespray#8186.
            yield ctx.finding(
                "CC009", "warning",
                f"unknown runc option {key!r} in runtime {rt.name!r}; did you mean "
                f"{close[0]!r}? containerd ignores unknown keys, so {close[0]} stays unset",
                table=f"{rt.table}.options", key=key,
                references=("https://github.com/kubernetes-sigs/kubespray/issues/8186",),
                fix=f"Rename {key} to {close[0]}.")


def sandbox_image(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.view.sandbox_image
    if ctx.pinned_pause is None or image is None or image == ctx.pinned_pause:
        return
    table, _, key = ctx.view.sandbox_image_key.partition(" ")
    table = table.strip("[]")
    yield ctx.finding(
        "CC010", "warning",
        f"sandbox image {image!r} differs from the node image's pinned pause image "
        f"{ctx.pinned_pause!r}: it is pulled at the first sandbox (fails offline) and is not "
        "protected from image garbage collection",
        table=table, key=key,
        references=("https://kubernetes.io/docs/setup/production-environment/container-runtimes/"
                    "#override-pause-image-containerd",
                    "https://github.com/projectcalico/calico/issues/9524"),
        fix=f'Set {key} = "{ctx.pinned_pause}".')


def registry(ctx: LintContext) -> Iterator[Finding]:
    view = ctx.view
    reg = _registry_data(view)
    # containerd >= 2.2 writes config_path = "/etc/containerd/certs.d:/etc/docker/certs.d"
    # into its defaults (containerd/containerd#12636), so leaving it unset no longer avoids it.
    implicit = view.registry_config_path is None and ctx.containerd >= (2, 2, 0)
    config_path = view.registry_config_path or ("(containerd's default)" if implicit else "")
    tls_hosts = [h for h, c in _dict(reg.get("configs")).items() if "tls" in _dict(c)]
    where = "" if view.registry_config_path else " (set by containerd's own defaults)"
    # containerd's ValidatePluginConfig, since config_path arrived in 1.5 (containerd#4978,
    # #5304) and in 2.x: "`mirrors` cannot be set when `config_path` is provided"; the CRI
    # plugin does not load.
    if view.registry_mirrors and config_path and ctx.containerd >= (1, 5, 0):
        yield ctx.finding(
            "CC011", "error",
            f"registry mirrors ({', '.join(view.registry_mirrors)}) together with config_path"
            f"{where}: containerd refuses the pair (\"`mirrors` cannot be set when `config_path` "
            "is provided\") and the CRI plugin does not load",
            table=f"{view.registry_table}.mirrors", key=view.registry_mirrors[0],
            predicted=Verdict.CLUSTER_FAILS.value, references=REGISTRY_REFS,
            fix="Drop the registry.mirrors tables and describe each mirror in "
                "/etc/containerd/certs.d/<host>/hosts.toml.",
            line=ctx.locate(f"{view.registry_table}.mirrors.{quote(view.registry_mirrors[0])}")
            or ctx.locate(view.registry_table, "config_path"))
    elif view.registry_mirrors:
        yield ctx.finding(
            "CC013", "info",
            "registry mirrors are deprecated since containerd 1.5 in favour of config_path "
            "hosts.toml files (removal deferred to 2.3, containerd#12366)",
            table=f"{view.registry_table}.mirrors", key=view.registry_mirrors[0],
            references=(*REGISTRY_REFS, "https://github.com/containerd/containerd/pull/12366"),
            fix="Describe mirrors in /etc/containerd/certs.d/<host>/hosts.toml.",
            line=ctx.locate(f"{view.registry_table}.mirrors.{quote(view.registry_mirrors[0])}"))
    if tls_hosts and config_path and ctx.containerd >= (1, 5, 0):
        yield ctx.finding(
            "CC012", "error",
            f"registry configs.tls ({', '.join(tls_hosts)}) together with config_path{where}: "
            "containerd refuses the pair (\"`configs.tls` cannot be set when `config_path` is "
            "provided\") and the CRI plugin does not load",
            table=f"{view.registry_table}.configs.{quote(tls_hosts[0])}.tls",
            predicted=Verdict.CLUSTER_FAILS.value, references=REGISTRY_REFS,
            fix="Move ca/cert/key settings to /etc/containerd/certs.d/<host>/hosts.toml.")


def shell_variables(ctx: LintContext) -> Iterator[Finding]:
    for i, line in enumerate(ctx.source_text.splitlines(), start=1):
        m = re.search(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", line.split("#", 1)[0])
        if m:
            yield ctx.finding(
                "CC014", "warning",
                f"unexpanded shell variable {m.group(0)}: this text is a shell template; "
                "containerd will use it literally", line=i,
                fix="Lint the config after the shell has expanded it.")
            return


def _dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _registry_data(view: ContainerdView) -> dict[str, object]:
    plugins = _dict(view.data.get("plugins"))
    for plugin in (CRI_V3_IMAGES, CRI_V2, CRI_V1):
        if table_name("plugins", plugin, "registry") == view.registry_table:
            return _dict(_dict(plugins.get(plugin)).get("registry"))
    return {}


Rule = Callable[[LintContext], Iterator[Finding]]
RULES: tuple[Rule, ...] = (cri_disabled, config_version, missing_version, skipped_patches,
                           undefined_default_runtime, cgroup_driver, missing_shim, option_typos,
                           sandbox_image, registry, shell_variables)


def run_rules(ctx: LintContext) -> list[Finding]:
    return [f for rule in RULES for f in rule(ctx)]
