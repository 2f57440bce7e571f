"""Reading ``analyze`` inputs and telling their format from their content, not their name.

Bytes first: a size cap, NUL bytes and invalid UTF-8 make a file unreadable (one line,
exit 2). Then the first non-blank character: ``{``/``[`` is JSON (a document, a stream
or JSON lines), ``apiVersion:``/``kind:``/``items:`` at the start of a line is YAML, and
everything else is pasted text, which may mix describe output and tables.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import BinaryIO

from ..datafile import regular_file
from ..errors import InputError, UnreadableInput
from .objects import parse_json, parse_yaml
from .parsed import READ, UNREAD, Parsed
from .text import is_noise, parse_text

MAX_BYTES = 16 * 1024 * 1024  # far above any paste; /dev/zero must not fill memory
YAML_START = re.compile(r"^(?:---\s*\n)?(?:#.*\n)*(?:apiVersion|kind|items|metadata):",
                        re.MULTILINE)
STDIN = "-"


def read_bytes(name: str, stdin: BinaryIO | None = None) -> bytes:
    try:
        if name == STDIN:
            data = (stdin or sys.stdin.buffer).read(MAX_BYTES + 1)
        else:
            regular_file(name, "cannot read")
            with Path(name).open("rb") as fh:
                data = fh.read(MAX_BYTES + 1)
    except IsADirectoryError as exc:
        raise UnreadableInput("is a directory, not a file", path=name) from exc
    except InputError as exc:
        raise UnreadableInput(exc.message.removeprefix("cannot read: "), path=name) from exc
    except OSError as exc:
        raise UnreadableInput(f"cannot read: {exc.strerror or exc}", path=name) from exc
    if len(data) > MAX_BYTES:
        raise UnreadableInput(f"larger than {MAX_BYTES // (1024 * 1024)} MiB: not a paste",
                              path=name)
    return data


def decode(name: str, data: bytes) -> str:
    if b"\x00" in data[:65536] or b"\x00" in data:
        raise UnreadableInput("binary data (NUL bytes), not kubectl output", path=name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UnreadableInput("not UTF-8 text: binary data or another encoding", path=name,
                              line=line) from exc
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\x1b")
    if controls > max(8, len(text) // 100):
        raise UnreadableInput("binary data (control characters), not kubectl output",
                              path=name)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sniff(text: str) -> str:
    """"json", "yaml" or "text"."""
    head = text.lstrip()
    if head[:1] in ("{", "["):
        return "json"
    if YAML_START.search(text[:4096]) and YAML_START.match(head):
        return "yaml"
    return "text"


def unwrap(text: str) -> str:
    """Blank the fences and ``$ kubectl ...`` lines around a pasted document (line numbers
    stay), so ``-o json|yaml`` output pasted with its command still reads as JSON/YAML."""
    lines = text.split("\n")
    edges = [i for i in range(len(lines)) if not lines[i].strip() or is_noise(lines[i])]
    first = next((i for i in range(len(lines)) if i not in edges), len(lines))
    last = next((i for i in reversed(range(len(lines))) if i not in edges), -1)
    body = lines[first:last + 1]
    if not body:
        return text
    # Sniffed without them too: "[root@node ~]# kubectl get pods" must not read as JSON.
    return "\n" * first + "\n".join(body) + "\n"


def parse_input(name: str, stdin: BinaryIO | None = None) -> Parsed:
    """One input, parsed as far as it goes; unreadable as a whole raises UnreadableInput."""
    text = decode(name, read_bytes(name, stdin))
    if not text.strip():
        raise UnreadableInput("empty input", path=name)
    fmt = sniff(unwrapped := unwrap(text))
    if fmt == "json":
        parsed = parse_json(name, unwrapped)
    elif fmt == "yaml":
        parsed = parse_yaml(name, unwrapped)
    else:
        parsed = parse_text(name, text)
        parsed.formats.append((name, "text"))
    if parsed.empty:
        unread = [p for p in parsed.parts if p.status == UNREAD]
        first = unread[0] if unread else None
        detail = (f" (line {first.first}: {first.sample!r})" if first and first.sample
                  else "" if first is None else f" ({first.what})")
        raise UnreadableInput("no calico-node pods, events or observations found: not "
                              f"kubectl describe/get output or an observation log{detail}",
                              path=name)
    if not any(p.status == READ for p in parsed.parts):
        raise UnreadableInput("nothing readable in it", path=name)
    return parsed
