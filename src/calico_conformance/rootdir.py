"""The project's rootdir, found again once the suite's options are known.

pytest finds its rootdir and ini file before any plugin has added options, so in
``pytest --variant /etc/containerd/config.toml`` it takes the option's value for a test
path, and the project's pyproject (testpaths, markers) is lost. Registered by the
plugin; it fixes what pytest found, or says how to write the option instead.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

MATRIX = Path("clusters") / "matrix.toml"


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    """``--variant /etc/containerd/config.toml`` (with a space) must mean what
    ``--variant=/etc/...`` means. pytest finds its rootdir and ini file before any plugin
    has added options, so there it takes the path for a test path, and the project's
    pyproject (testpaths, markers) is lost. Now that our options are known, find them
    again from the real positional arguments."""
    invocation = Path(str(early_config.invocation_params.dir))
    if not (invocation / MATRIX).is_file() or Path(str(early_config.rootpath)) == invocation:
        return
    ns = parser.parse_known_args(args)
    try:
        from _pytest.config.findpaths import determine_setup

        kwargs: dict[str, object] = {
            "inifile": ns.inifilename, "args": ns.file_or_dir,
            "rootdir_cmd_arg": ns.rootdir or None, "invocation_dir": invocation}
        if "override_ini" in inspect.signature(determine_setup).parameters:
            kwargs["override_ini"] = ns.override_ini
        rootpath, inipath, inicfg, *_ = determine_setup(**kwargs)  # type: ignore[arg-type]
        if rootpath == early_config.rootpath:
            return
        for name, value in (("_rootpath", rootpath), ("_inipath", inipath),
                            ("_inicfg", inicfg)):
            if not hasattr(early_config, name):
                raise AttributeError(name)
            setattr(early_config, name, value)
        early_config._inicache.clear()
        early_config.known_args_namespace.confcutdir = str((inipath or rootpath).parent
                                                           if inipath else rootpath)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        raise pytest.UsageError(
            f"calico-conformance: this pytest lays out its configuration differently "
            f"({exc}); write options with '=', e.g. --variant=PATH") from exc
