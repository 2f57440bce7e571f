"""Image rules: the sandbox (pause) image the node will pull."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Finding
from .context import LintContext


def sandbox_image(ctx: LintContext) -> Iterator[Finding]:
    image = ctx.view.sandbox_image
    if ctx.pinned_pause is None or image is None or image == ctx.pinned_pause:
        return
    table, _, key = ctx.view.sandbox_image_key.partition(" ")
    table = table.strip("[]")
    yield ctx.finding(
        "CC010", "warning",
        f"sandbox image {image!r} differs from the node image's pinned pause image "
        f"{ctx.pinned_pause!r}: it is pulled at the first sandbox (fails offline) and is not "
        "protected from image garbage collection",
        table=table, key=key,
        references=("https://kubernetes.io/docs/setup/production-environment/container-runtimes/"
                    "#override-pause-image-containerd",
                    "https://github.com/projectcalico/calico/issues/9524"),
        fix=f'Set {key} = "{ctx.pinned_pause}".')
