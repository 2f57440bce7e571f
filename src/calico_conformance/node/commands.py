"""``calico-conformance nodes build|list|prune``: the node images, managed like a cache."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import platformdirs

from ..clock import SystemClock
from . import vm_image
from .build import build, prune
from .docker import find_docker
from .recipes import IMAGE_REPO, apt_sources, debian_mirror, load_recipes
from .vm_node import VmBackend, cache_dir, prime


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("nodes", help="build, list or prune the node tier's images",
                              description="Node images for `pytest --tier node`, built from "
                                          "Debian packages (clusters/nodes/*.toml).")
    sub = p.add_subparsers(dest="nodes_command", required=True, metavar="ACTION")
    for name, helptext in (("build", "build the images that are missing (or all, --force)"),
                           ("list", "show each recipe, its image tag and what it installed"),
                           ("prune", "remove images no current recipe produces and node "
                                     "containers a killed run left (--containers)")):
        q = sub.add_parser(name, help=helptext)
        q.add_argument("--clusters", type=Path, default=Path("clusters"),
                       help="the suite's data directory (default: ./clusters)")
        q.add_argument("--docker", default=None, help="docker binary (default: on PATH)")
        q.add_argument("--backend", choices=("docker", "vm", "all"), default="docker",
                       help="docker: the node images; vm: also the cgroup v2 virtual-machine "
                            "images built from them (kernel, initramfs, primed root "
                            "filesystem); all: both (default: docker)")
        if name == "build":
            q.add_argument("names", nargs="*", metavar="RECIPE",
                           help="recipes to build (default: all)")
            q.add_argument("--mirror", default=None,
                           help="Debian mirror URL (default: from this machine's apt sources)")
            q.add_argument("--force", action="store_true", help="rebuild even if cached")
            q.add_argument("--workdir", type=Path, default=None,
                           help="where root filesystems are bootstrapped (removed after)")
        if name == "prune":
            q.add_argument("--containers", action="store_true",
                           help="also remove every container carrying the node tier's run "
                                "label (only when no node-tier run is in progress)")
        q.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    recipes = load_recipes(args.clusters)
    docker = find_docker(args.docker)
    vm = args.backend in ("vm", "all")
    if args.nodes_command == "list":
        present = dict(docker.images(IMAGE_REPO))
        for r in recipes.values():
            state = "built" if r.tag in present else "missing"
            inst = r.installed()
            print(f"{r.name:<12} {r.tag:<48} {state:<8} containerd {inst.get('containerd', '?')}"
                  f"  runc {inst.get('runc', '?')}  systemd {inst.get('systemd', '?')}")
            if vm:
                image = VmBackend().image(r.tag)
                print(f"{'':<12} {'vm: ' + image.dir.name:<48} "
                      f"{'built' if image.primed else 'missing':<8} {image.dir}")
        return 0
    if args.nodes_command == "prune":
        if args.containers:
            for cid in docker.containers():
                if docker.remove(cid):
                    print(f"removed container {cid[:12]}")
        for ref in prune(docker, {r.tag for r in recipes.values()}, IMAGE_REPO):
            print(f"removed {ref}")
        if vm:
            keep = {VmBackend().image(r.tag).dir for r in recipes.values()}
            for gone in vm_image.prune(cache_dir(), keep):
                print(f"removed {gone}")
        return 0
    mirror = args.mirror or debian_mirror(apt_sources())
    workdir = args.workdir or Path(platformdirs.user_cache_dir("calico-conformance")) / "nodes"
    unknown = sorted(set(args.names) - set(recipes))
    if unknown:
        print(f"calico-conformance: error: unknown recipe {unknown[0]!r} "
              f"(known: {', '.join(recipes)})")
        return 2
    for name in args.names or list(recipes):
        built = build(recipes[name], docker, mirror, workdir, force=args.force)
        how = "cached" if built.reused else "built"
        print(f"{name}: {how} {built.tag} (containerd {built.installed.get('containerd', '?')}, "
              f"runc {built.installed.get('runc', '?')}, "
              f"systemd {built.installed.get('systemd', '?')})", flush=True)
        if vm:
            image = vm_image.build(recipes[name], built.tag, cache_dir(), docker.binary)
            how = ("cached" if image.primed
                   else f"built, primed in {prime(image, SystemClock()):.0f}s")
            print(f"{name}: vm {how} {image.dir}", flush=True)
    return 0
