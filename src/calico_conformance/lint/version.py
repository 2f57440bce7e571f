"""Config-version rules: which layout containerd reads, and patches kind would skip."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..containerd.config import quote
from ..model import Finding, Verdict
from .context import LintContext


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
    newest = 4 if ctx.containerd >= (2, 3, 0) else 3 if major >= 2 else 2
    if version > 4 or version < 1:
        yield ctx.finding("CC006", "error",
                          f"version = {version} is not a containerd config version "
                          "(known: 1 to 4)", key="version",
                          predicted=Verdict.CLUSTER_FAILS.value, line=line,
                          references=("https://github.com/containerd/containerd/blob/main/"
                                      "docs/PLUGINS.md#version-header",),
                          fix="Use version = 2 on containerd 1.x, version = 3 on 2.x.")
    elif version == 4 and version > newest:
        # Version 4 arrived with containerd 2.3; older releases refuse a newer version
        # ("containerd config version `N` is not supported, the max version is `M`").
        yield ctx.finding("CC006", "error",
                          f"version = 4 needs containerd >= 2.3, the node runs {ctrd}: "
                          "containerd refuses to start", key="version", line=line,
                          predicted=Verdict.CLUSTER_FAILS.value,
                          references=("https://github.com/containerd/containerd/blob/main/"
                                      "docs/PLUGINS.md#version-header",),
                          fix=f"Write a version = {newest} config for containerd {ctrd}.")
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
    elif major >= 2 and version < newest and declared is not None and ctx.standalone:
        # Only for a whole file: on kind the base's version is kind's business, not the user's.
        yield ctx.finding(
            "CC006", "info",
            f"version = {version} on containerd {ctrd}: containerd migrates it to version "
            f"{newest} on every start",
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
    if uri_tables and ctx.containerd[0] < 2:
        # containerd 1.x Config.Decode keys version-1 plugins by short id ("cri"), so
        # full-URI tables are never read (services/server/config/config.go).
        detail = (f": containerd {ctx.containerd[0]}.x reads it as version 1 and ignores the "
                  + ", ".join(f'[plugins."{p}"]' for p in uri_tables) + " tables")
    elif ctx.containerd[0] >= 2:
        # Observed on 2.1.9 (docs/CALIBRATION.md): containerd starts and serves CRI, the
        # top-level keys (disabled_plugins) apply, but the CRI plugin's own settings are
        # ignored ("Ignoring unknown key in TOML for plugin io.containerd.grpc.v1.cri").
        tables = ", ".join(f"[plugins.{quote(p)}]" for p in uri_tables) or "its CRI tables"
        detail = (f": containerd {ctx.containerd[0]}.x ignores the CRI settings in {tables} "
                  "(\"Ignoring unknown key in TOML for plugin\") and runs CRI with its "
                  "defaults")
    yield ctx.finding(
        "CC008", "warning",
        "no version line; containerd treats the file as version 1" + detail,
        key="version", line=1,
        references=("https://github.com/containerd/containerd/blob/main/docs/PLUGINS.md"
                    "#version-header",
                    "https://github.com/containerd/containerd/issues/10905"),
        fix="Add `version = 2` (containerd 1.x) or `version = 3` (containerd 2.x) at the top.")


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


def short_plugin_ids(ctx: LintContext) -> Iterator[Finding]:
    """Version 1 keys plugins by short id (``cri``); version 2 and later by URI. A merged
    version-1 file under a newer version line is refused: ``invalid plugin key URI "cri"
    expect io.containerd.x.vx`` (containerd services/server/config/config.go)."""
    plugins = ctx.view.data.get("plugins")
    version = ctx.view.declared_version
    if version is None or version < 2 or not isinstance(plugins, dict):
        return
    short = [str(p) for p in plugins if not str(p).startswith("io.containerd.")]
    if not short:
        return
    yield ctx.finding(
        "CC015", "error",
        f"version = {version} with short (version 1) plugin ids "
        + ", ".join(f"[plugins.{p}]" for p in short)
        + f': containerd refuses to start (invalid plugin key URI "{short[0]}" expect '
        "io.containerd.x.vx)",
        table=f"plugins.{short[0]}", predicted=Verdict.CLUSTER_FAILS.value,
        references=("https://github.com/containerd/containerd/blob/main/docs/PLUGINS.md"
                    "#version-header",),
        fix="Use the full plugin URIs (plugins.\"io.containerd.grpc.v1.cri\" for cri), "
            "or run `containerd config migrate` on the file.")
