"""Registry rules: mirrors, TLS configs and ``config_path``, which containerd refuses together."""

from __future__ import annotations

from collections.abc import Iterator

from ..containerd import ContainerdView
from ..containerd.config import quote
from ..model import Finding, Verdict
from .context import REGISTRY_REFS, LintContext


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


def _registry_data(view: ContainerdView) -> dict[str, object]:
    data = view.get(view.layout.registry)
    return data if isinstance(data, dict) else {}


def _dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}
