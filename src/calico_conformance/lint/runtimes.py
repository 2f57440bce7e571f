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


# Shims containerd 2.0 removed (v2.0.0 release notes, "Removed features": the runc v1 shim
# and the runtime v1 Linux shim; containerd#8262, #4365): a sandbox on them fails
# (observed on 2.1.9: "io.containerd.runc.v1: type with url runtimeoptions.v1.Options:
# not found").
REMOVED_IN_2 = ("io.containerd.runc.v1", "io.containerd.runtime.v1.linux")


def removed_shims(ctx: LintContext) -> Iterator[Finding]:
    default = default_runtime(ctx)
    if ctx.containerd < (2, 0, 0) or default is None or ctx.view.cri_disabled:
        return
    if default.runtime_type in REMOVED_IN_2:
        yield ctx.finding(
            "CC019", "error",
            f"the default runtime {default.name!r} has runtime_type "
            f"{default.runtime_type!r}, which containerd 2.0 removed: every sandbox fails",
            table=default.table, key="runtime_type", predicted=Verdict.CLUSTER_FAILS.value,
            references=("https://github.com/containerd/containerd/releases/tag/v2.0.0",),
            fix='Set runtime_type = "io.containerd.runc.v2".')


def custom_runtime_binary(ctx: LintContext) -> Iterator[Finding]:
    """A default runtime that runs another binary than runc needs it on every node
    (observed: Bottlerocket's "shimpei" and every sandbox failed, "executable file not
    found in $PATH")."""
    default = default_runtime(ctx)
    binary = default.binary_name if default is not None else None
    if default is None or not binary or binary.rsplit("/", 1)[-1] == "runc":
        return
    yield ctx.finding(
        "CC018", "warning",
        f"the default runtime {default.name!r} runs BinaryName = {binary!r}, not runc: every "
        "sandbox, calico-node's included, fails on a node without that binary",
        table=f"{default.table}.options", key="BinaryName",
        references=("https://github.com/containerd/containerd/blob/main/docs/cri/config.md",),
        fix=f"Install {binary} on every node, or drop BinaryName to use runc.")


def proxy_snapshotter(ctx: LintContext) -> Iterator[Finding]:
    """The CRI snapshotter served by a proxy plugin needs its daemon (observed: stargz,
    "dial unix ... containerd-stargz-grpc.sock", every image unpack failed)."""
    proxies = ctx.view.data.get("proxy_plugins")
    name = ctx.view.snapshotter
    if not isinstance(proxies, dict) or name not in proxies or ctx.view.cri_disabled:
        return
    entry = proxies[name]
    address = entry.get("address", "?") if isinstance(entry, dict) else "?"
    yield ctx.finding(
        "CC020", "warning",
        f"the CRI snapshotter {name!r} is a proxy plugin served at {address}: on a node "
        "where that daemon is not running, every image unpack fails (no pod starts)",
        table=f"proxy_plugins.{quote(name)}", key="address",
        references=("https://github.com/containerd/containerd/blob/main/docs/PLUGINS.md"
                    "#proxy-plugins",),
        fix=f"Run the {name} snapshotter daemon on every node before containerd, or use "
            "the default overlayfs snapshotter.")


def missing_runtime_type(ctx: LintContext) -> Iterator[Finding]:
    """containerd 1.x decodes a runtimes entry as a new table, not over its defaults: a
    runc table with only options has no runtime_type, and every container fails (observed
    on 1.6.20 and 1.7.24: "create container failed validation: container.Runtime.Name must
    be set"; 2.1.9 fills it in)."""
    default = default_runtime(ctx)
    if (ctx.containerd >= (2, 0, 0) or default is None or ctx.view.cri_disabled
            or default.runtime_type is not None or default.name not in ctx.view.runtimes):
        return
    yield ctx.finding(
        "CC021", "error",
        f"the default runtime {default.name!r} has no runtime_type: containerd "
        f"{'.'.join(map(str, ctx.containerd))} does not fill it in from its defaults, and "
        "every container fails (\"container.Runtime.Name must be set\")",
        table=default.table, key="runtime_type", predicted=Verdict.CLUSTER_FAILS.value,
        references=("https://github.com/containerd/containerd/blob/release/1.7/docs/cri/"
                    "config.md",),
        fix=f'Add runtime_type = "io.containerd.runc.v2" under [{default.table}].')
