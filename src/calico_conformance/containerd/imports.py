"""A config's ``imports``, resolved the way containerd resolves them, inside one folder.

containerd resolves a relative entry (and a glob) against the importing file's folder and
reads the imports of imports (services/server/config/config.go, ``resolveImports`` and
``LoadConfig``). A variant comes from a bug report and the host probe runs it as root, so
every relative entry must stay inside the variant's own folder once links are followed:
a ``../``, a symlink, a linked folder or an import inside an import that leaves it is
refused when the variant is loaded, before any tier runs. Absolute entries are host paths;
the tiers drop them (the probe) or find them absent (a node), and say so.

One difference by version: containerd 1.6 globs a relative *glob* entry as written, from
its working directory, and joins only plain paths to the config's folder; 1.7 and later
join first, then glob (``resolveImports`` in both). Observed on the 1.6.20 node: a staged
``conf.d/*.toml`` was not read, ``conf.d/x.toml`` was. The folder check holds either way.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..datafile import parse_toml, read_text
from ..errors import InputError

# containerd stops a loop by remembering what it loaded; real configs nest one or two.
MAX_IMPORT_DEPTH = 8


def import_files(entry: str, here: Path, root: Path, source: Path | None = None) -> list[Path]:
    """The files a relative ``imports`` entry of ``source`` (in folder ``here``) names,
    each checked to stay in ``root``."""
    pattern = here / entry
    found = (sorted(Path(p) for p in glob.glob(str(pattern)))
             if glob.has_magic(entry) else [pattern])
    real_root = root.resolve()
    for path in found:
        real = path.resolve()
        if not real.is_relative_to(real_root):
            raise InputError(f"imports: {entry!r} leaves the variant's folder (it resolves to "
                             f"{real}); refused, no host file is read",
                             path=source or here)
    return [p for p in found if p.is_file()]


def relative_imports(data: dict[str, Any]) -> Iterator[str]:
    imports = data.get("imports")
    for entry in imports if isinstance(imports, list) else ():
        if isinstance(entry, str) and not os.path.isabs(entry):
            yield entry


def check_imports(data: dict[str, Any], source: Path, root: Path, depth: int = 0) -> None:
    """Refuse any import of ``source``, at any depth, that leaves ``root``."""
    for entry in relative_imports(data):
        if depth >= MAX_IMPORT_DEPTH:
            raise InputError(f"imports: {entry!r} is nested more than {MAX_IMPORT_DEPTH} "
                             "imports deep", path=source)
        for path in import_files(entry, source.parent, root, source):
            check_imports(parse_toml(read_text(path), path=path), path, root, depth + 1)


def staged_imports(data: dict[str, Any], root: Path) -> list[tuple[str, str]]:
    """Each file the variant imports from its own folder, as (path relative to the folder,
    text), imports of imports included: a node gets them beside its config.toml, where
    containerd resolves them as it would beside the variant. Links are checked (above) but
    the path is kept as written, since that is where containerd looks."""
    out: dict[str, str] = {}

    def walk(doc: dict[str, Any], here: Path, depth: int) -> None:
        for entry in relative_imports(doc):
            if depth >= MAX_IMPORT_DEPTH:
                raise InputError(f"imports: {entry!r} is nested more than {MAX_IMPORT_DEPTH} "
                                 "imports deep", path=here)
            for path in import_files(entry, here, root):
                rel = os.path.relpath(os.path.normpath(path), root)
                if rel not in out:
                    out[rel] = read_text(path)
                    walk(parse_toml(out[rel], path=path), path.parent, depth + 1)

    walk(data, root, 0)
    return sorted(out.items())
