"""Registry credentials never reach a file the suite writes for people to read.

A variant may carry real credentials (``[plugins."io.containerd.grpc.v1.cri".registry.
configs."host".auth]`` with ``username``/``password``/``auth``/``identitytoken``, as
containerd documents in docs/cri/registry.md); configs come from bug reports. Only the
file handed to containerd or kind keeps them (0600, deleted after use, see
:func:`private_file`); plans, artifacts, logs kept as evidence and results get
``<redacted>`` instead. containerd's CRI plugin also logs its whole config at start
(``Password:...`` in Go's struct format), so log text is redacted too.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REDACTED = "<redacted>"
# The credential fields of containerd's AuthConfig (CRI registry.configs.*.auth and the
# hosts.toml/credential helpers' forms) and of Docker's config.json auths.
SECRET_KEYS = ("password", "auth", "identitytoken", "identity_token", "registrytoken",
               "registry_token", "token", "secret")
_KEYS = "|".join(SECRET_KEYS)
# TOML (and YAML flow) ``key = "value"`` / ``"key" = 'value'``: the document stays valid.
_TOML = re.compile(rf"""(?im)(^|[\s{{,])(["']?)({_KEYS})\2(\s*=\s*)"""
                   r"""("(?:[^"\\\n]|\\.)*"|'[^'\n]*')""")
# Logs and struct dumps: ``Password:x``, ``"password":"x"``, ``auth=x``.
_LOOSE = re.compile(rf"""(?i)\b({_KEYS})(["']?\s*[:=]\s*)(?!["']?{re.escape(REDACTED)}|\{{|&)"""
                    r"""("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,;}\]"'&{]+)""")


def redact_config(text: str) -> str:
    """A TOML/YAML config text with every credential value replaced, still parseable."""
    return _TOML.sub(lambda m: f'{m[1]}{m[2]}{m[3]}{m[2]}{m[4]}"{REDACTED}"', text)


def redact_text(text: str) -> str:
    """Any text (logs, errors, notes) with credential values replaced."""
    return _LOOSE.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", redact_config(text))


def write_private(path: Path, text: str) -> Path:
    """Write a file only its owner can read (0600 from creation, not chmod after)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_TRUNC
    return path


@contextlib.contextmanager
def private_file(path: Path, text: str) -> Iterator[Path]:
    """The unredacted config for containerd or kind: 0600, removed when the block ends."""
    try:
        yield write_private(path, text)
    finally:
        path.unlink(missing_ok=True)


def redact_kind_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """A kind Cluster config whose containerd patches carry no credential."""
    out = dict(cfg)
    if "containerdConfigPatches" in out:
        out["containerdConfigPatches"] = [redact_config(p)
                                          for p in out["containerdConfigPatches"]]
    return out
