"""The preflight lint rules: what a containerd config will do to calico-node, before any cluster.

Each rule reads a :class:`LintContext` (the effective config's canonical view plus what
the node brings: kubelet cgroup driver, containerd version, shims, pinned pause image)
and yields :class:`~calico_conformance.model.Finding` objects naming the exact TOML
table and key. Rules are judged on what containerd will *actually* use (the default
runtime, the merged config), not on what a file happens to mention.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator

from .containerd.config import quote
from .lint_config_rules import (
    config_version,
    missing_version,
    registry,
    sandbox_image,
    shell_variables,
    skipped_patches,
)
from .lint_context import (
    CGROUP_REFS,
    CRI_NAMES,
    RUNC_OPTIONS,
    LintContext,
    default_runtime,
    is_runc,
    locate,
)
from .model import Finding, Verdict

__all__ = ["RULES", "LintContext", "Rule", "locate", "run_rules"]

def cgroup_driver(ctx: LintContext) -> Iterator[Finding]:
    rt = default_runtime(ctx)
    if rt is None or not is_runc(rt) or ctx.view.cri_disabled:
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


def option_typos(ctx: LintContext) -> Iterator[Finding]:
    for rt in ctx.view.runtimes.values():
        if not is_runc(rt):
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


Rule = Callable[[LintContext], Iterator[Finding]]
RULES: tuple[Rule, ...] = (cri_disabled, config_version, missing_version, skipped_patches,
                           undefined_default_runtime, cgroup_driver, missing_shim, option_typos,
                           sandbox_image, registry, shell_variables)


def run_rules(ctx: LintContext) -> list[Finding]:
    return [f for rule in RULES for f in rule(ctx)]
