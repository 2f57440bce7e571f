"""Registry credentials never reach a file the suite writes for people to read.

A variant may carry real credentials, and configs come from bug reports. containerd reads
them from ``registry.configs."host".auth`` (``username``/``password``/``auth``/
``identitytoken``, docs/cri/registry.md) and from ``headers`` (an ``Authorization``
header, docs/hosts.md). Only the file handed to containerd or kind keeps them (0600,
deleted after use, see :func:`private_file`); plans, artifacts, logs kept as evidence
and results get ``<redacted>``.

A config is redacted by what TOML *means*, not how it is spelled: the document is
parsed, every string under a secret key path (``password``, ``Authorization``, ...,
whether written as a table, a dotted key, a quoted or escaped key) or that looks like a
credential (``Basic …``, ``Bearer …``, a JWT, ``user:pass@`` in a URL) is collected, and
each string literal holding one (basic, literal, multi-line) is replaced in the text, so
the evidence stays the user's file, still valid TOML. containerd's CRI plugin also logs
its whole config at start (``Password:...`` in Go's struct format), so log text is
redacted by key and by value pattern too.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REDACTED = "<redacted>"
# The credential fields of containerd's AuthConfig (CRI registry.configs.*.auth and the
# hosts.toml/credential helpers' forms), Docker's config.json auths, and the HTTP
# headers that carry credentials (containerd's hosts.toml ``headers``).
SECRET_KEYS = ("password", "auth", "identitytoken", "identity_token", "registrytoken",
               "registry_token", "token", "secret", "authorization", "proxy_authorization",
               "x_registry_auth")
_KEYS = "|".join(k.replace("_", "[_-]") for k in SECRET_KEYS)
# A value that is a credential whatever its key: an HTTP authorization (RFC 9110 11.6.2),
# a JWT (RFC 7519, base64url of '{"'), the password of a URL's userinfo (RFC 3986 3.2.1).
_VALUE = re.compile(r"(?i)(\b(?:basic|bearer|digest|negotiate)\s+)[A-Za-z0-9+/=._~-]{4,}"
                    r"|()\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_.-]*"
                    r"|(://[^/\s:@\"']{1,256}:)[^/\s@\"']{1,256}(?=@)")
# TOML (and YAML flow) ``key = "value"`` / ``"key" = 'value'``: for text that is not TOML.
_TOML = re.compile(rf"""(?im)(^|[\s{{,])(["']?)({_KEYS})\2(\s*=\s*)"""
                   r"""("(?:[^"\\\n]|\\.)*"|'[^'\n]*')""")
# Logs and struct dumps: ``Password:x``, ``"password":"x"``, ``auth=x``.
_LOOSE = re.compile(rf"""(?i)\b({_KEYS})(["']?\s*[:=]\s*)(?!["']?{re.escape(REDACTED)}|\{{|&|\[)"""
                    r"""("(?:[^"\\\n]|\\.)*"|'[^'\n]*'|[^\s,;}\]"'&{]+)""")
# TOML's string literals (multi-line first) and comments, so a '#' or a quote inside one
# is never taken for the other. Each alternative is linear in its input.
_LITERAL = re.compile(r'"""(?:[^"\\]|\\.|"(?!""))*"""(?:"{1,2}(?!"))?'
                      r"|'''(?:[^']|'(?!''))*'''(?:'{1,2}(?!'))?"
                      r'|"(?:[^"\\\n]|\\.)*"'
                      r"|'[^'\n]*'"
                      r"|#[^\n]*", re.S)
_IS_KEY = re.compile(r"[ \t]*[=.]")


def _secret_key(key: str) -> bool:
    return key.lower().replace("-", "_") in SECRET_KEYS


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def secret_values(data: Any) -> set[str]:
    """Every string in a parsed document that is a credential: under a secret key (a
    table under one, like ``auth``'s, is looked into key by key) or by its own shape."""
    found: set[str] = set()
    stack = [data]
    while stack:
        node = stack.pop()
        items = (node.items() if isinstance(node, dict)
                 else (("", v) for v in node) if isinstance(node, list) else ())
        for key, value in items:
            if isinstance(value, (dict, list)):
                if _secret_key(key) and isinstance(value, list):
                    found.update(_strings(value))
                stack.append(value)
            elif isinstance(value, str) and (_secret_key(key) or _VALUE.search(value)):
                found.add(value)
    return found


def _decoded(token: str) -> str | None:
    """The value of one TOML string literal (a one-line one without escapes is read as
    is; the rest by the TOML parser itself, so every escape means what TOML says)."""
    if len(token) >= 2 and token[:3] not in ('"""', "'''") and (
            token[0] == "'" or "\\" not in token):
        return token[1:-1]
    try:
        value = tomllib.loads(f"v = {token}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return None
    return value if isinstance(value, str) else None


def redact_config(text: str) -> str:
    """A TOML config text with every credential value replaced, still parseable."""
    try:
        secrets = secret_values(tomllib.loads(text))
    except (tomllib.TOMLDecodeError, RecursionError):
        return redact_text(text)  # not TOML: redact by key and value pattern

    def swap(m: re.Match[str]) -> str:
        token = m[0]
        if token.startswith("#"):
            return redact_text(token)
        if not secrets or _IS_KEY.match(text, m.end()) or _decoded(token) not in secrets:
            return token
        return f'"{REDACTED}"'
    return _LITERAL.sub(swap, text)


def redact_text(text: str) -> str:
    """Any text (logs, errors, notes) with credential values replaced."""
    text = _TOML.sub(lambda m: f'{m[1]}{m[2]}{m[3]}{m[2]}{m[4]}"{REDACTED}"', text)
    text = _LOOSE.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    return _VALUE.sub(lambda m: f"{m[1] or m[3] or ''}{REDACTED}", text)


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
