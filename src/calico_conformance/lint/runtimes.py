"""Runtime rules: what containerd will run pods with (default runtime, shims, runc options)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from ..containerd.config import CRI_PLUGINS, quote
from ..model import Finding, Verdict
from .context import RUNC_OPTIONS, LintContext, default_runtime, is_runc


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
    names = [p for p in ctx.view.disabled_plugins if p in CRI_PLUGINS]
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
