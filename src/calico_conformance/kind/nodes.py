"""What a cell's nodes really run, read over ``docker exec`` and held against the plan.

A config kind merged differently than predicted, a containerd other than the pinned
one, or a kubelet on another cgroup driver would make a verdict about the wrong
thing; each difference goes into the result's ``config_check``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from .. import tools
from ..cells import Cell
from ..datafile import parse_toml
from ..errors import InputError
from ..model import ConfigCheck
from ..redact import redact_config
from ..versions import parse_version


def check_nodes(cell: Cell, nodes: list[str], docker: str, out_dir: Path) -> ConfigCheck:
    """Read what each node really runs and compare it with the prediction."""
    predicted = cell.effective
    differences: list[str] = []
    versions: set[str] = set()
    drivers: set[str] = set()
    for node in nodes:
        res = tools.docker_exec(node, "cat", "/etc/containerd/config.toml", docker=docker)
        (out_dir / f"{node}.containerd-config.toml").write_text(redact_config(res.stdout))
        if not res.ok:
            differences.append(f"{node}: cannot read /etc/containerd/config.toml: "
                               f"{tools.last_line(res.stderr)}")
        else:
            try:
                actual = parse_toml(res.stdout, path=f"{node}:/etc/containerd/config.toml")
            except InputError as exc:
                differences.append(exc.one_line())
            else:
                differences += [f"{node}: {d}" for d in compare(predicted.data, actual)]
        ver = tools.docker_exec(node, "containerd", "--version", docker=docker)
        parsed = parse_version(ver.stdout.split(" ", 2)[-1]) if ver.ok else None
        if parsed:
            versions.add(".".join(map(str, parsed)))
        kub = tools.docker_exec(node, "cat", "/var/lib/kubelet/config.yaml", docker=docker)
        (out_dir / f"{node}.kubelet-config.yaml").write_text(kub.stdout)
        try:
            driver = str((yaml.safe_load(kub.stdout) or {}).get("cgroupDriver", ""))
        except yaml.YAMLError:
            driver = ""
        if driver:
            drivers.add(driver)
            if driver != cell.kubelet_cgroup_driver:
                differences.append(f"{node}: kubelet cgroupDriver is {driver}, predicted "
                                   f"{cell.kubelet_cgroup_driver}")
    if versions and cell.point.kind.containerd not in versions:
        differences.append(f"containerd {', '.join(sorted(versions))} on the nodes, "
                           f"kind {cell.point.kind.version} is pinned to "
                           f"{cell.point.kind.containerd}")
    return ConfigCheck(status="differs" if differences else "match",
                       containerd_version=", ".join(sorted(versions)),
                       kubelet_cgroup_driver=", ".join(sorted(drivers)),
                       differences=tuple(differences),
                       skipped_patches=tuple(s.describe() for s in predicted.skipped))


def compare(predicted: dict[str, object], actual: dict[str, object], prefix: str = "") -> list[str]:
    """Key-level differences between two parsed configs, in TOML dotted paths."""
    out: list[str] = []
    for key in sorted(set(predicted) | set(actual)):
        path = f"{prefix}.{key}" if prefix else key
        a, b = predicted.get(key, "<unset>"), actual.get(key, "<unset>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += compare(a, b, path)
        elif a != b:
            out.append(f"{path}: predicted {a!r}, node has {b!r}")
    return out
