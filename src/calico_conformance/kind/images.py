"""Images pulled once on the host and loaded into each cluster, so nodes never pull.

``--preload-images``: every node image (by its pinned digest) and every Calico image of
the run (after any ``--calico-registry`` swap) is pulled before the first cluster; a
missing one is one clear error then, not a cell stuck in ImagePullBackOff later. The
digests go into the run's metadata.
"""

from __future__ import annotations

from pathlib import Path

from .. import calico as calico_mod
from .. import tools
from ..cells import CalicoRelease, Cell
from ..errors import ConformanceError, InputError
from ..settings import KindSettings


def calico_images(release: CalicoRelease, cache_dir: Path, manifest_dir: Path | None,
                  registry: str | None) -> list[str]:
    """The images a release's manifest runs, as this run will name them."""
    data = calico_mod.fetch_manifest(release, cache_dir, manifest_dir)
    docs = calico_mod.patch_documents(calico_mod.load_documents(data, release.manifest_url),
                                      pod_cidr="192.168.0.0/16", registry=registry)
    return calico_mod.images(docs)


def preload(images: list[str], docker: str = "docker") -> dict[str, str]:
    """Each image present on the host (pulled when absent): image -> digest."""
    digests: dict[str, str] = {}
    missing: list[str] = []
    for image in images:
        digest = tools.docker_image_digest(image, docker)
        if digest is None:
            res = tools.docker_pull(image, docker)
            digest = tools.docker_image_digest(image, docker) if res.ok else None
            if digest is None:
                missing.append(f"{image} ({tools.last_line(res.stderr or res.stdout)})")
                continue
        digests[image] = digest
    if missing:
        raise InputError(f"--preload-images: cannot pull {len(missing)} image(s), so no "
                         f"cluster was created: {'; '.join(missing)}")
    return digests


def preload_cells(cells: list[Cell], settings: KindSettings) -> dict[str, str]:
    """Every node image and Calico image of ``cells``, on the host: image -> digest."""
    images = {c.point.node_image for c in cells}
    try:
        for release in {c.calico.version: c.calico for c in cells}.values():
            images.update(calico_images(release, settings.cache_dir, settings.manifest_dir,
                                        settings.registry))
    except ConformanceError as exc:
        raise InputError(f"--preload-images: {exc}") from exc
    return preload(sorted(images), settings.docker)
