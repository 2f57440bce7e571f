"""Running cells side by side: xdist workers, shards, and a bound on live clusters.

Distribution across machines belongs to a CI engine (see .github/workflows); on one
machine it belongs to pytest-xdist. What the suite adds is only what those cannot
know: one run folder for every worker (the controller claims it and hands its id to
each worker), shards balanced by how long each cell takes, and a machine-wide bound
on clusters and node containers that exist at once (lock files in the run folder, so
it holds across worker processes and frees a slot the moment a cell ends).
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Protocol, TypeVar

from .cells import Cell
from .clock import Clock
from .errors import InputError
from .settings import KindSettings, NodeSettings

T = TypeVar("T")
WORKER_RUN_ID = "calico_conformance_run_id"  # key in xdist's workerinput
# Assumed per kind node, for the default --max-clusters: kind's control plane with Calico
# and a worker node each use about one CPU while settling and 2 GiB of memory.
NODE_CPUS, NODE_GIB = 1.0, 2.0
# kind's known issues page ("Pod errors due to too many open files") recommends these.
INOTIFY_WANTED = {"max_user_watches": 524288, "max_user_instances": 512}
KIND_OVERHEAD_S = 150.0  # create, node check, Calico rollout: added to a kind cell's soak
PROBE_OVERHEAD_S = 10.0  # containerd start and tear-down: added to a probe cell's window


MAX_SHARDS = 1000  # far above any CI fan-out; N empty shards would cost N of everything


def parse_shard(text: str) -> tuple[int, int]:
    """``K/N`` (1-based) as (K, N)."""
    m = re.fullmatch(r"(\d{1,9})/(\d{1,9})", text.strip()[:40])
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)) <= MAX_SHARDS:
        raise InputError(f"--shard {text[:40]!r}: write K/N with 1 <= K <= N <= {MAX_SHARDS}, "
                         "e.g. 2/4")
    return int(m.group(1)), int(m.group(2))


def shard_of(weights: Sequence[tuple[str, float]], n: int) -> dict[str, int]:
    """Each key to a shard 1..n, balancing total expected seconds (longest first onto
    the lightest shard; ties by key), the same on every machine that asks."""
    totals = [0.0] * n
    out: dict[str, int] = {}
    for key, weight in sorted(weights, key=lambda kw: (-kw[1], kw[0])):
        lightest = min(range(n), key=lambda i: (totals[i], i))
        totals[lightest] += weight
        out[key] = lightest + 1
    return out


def shard_out(items: Sequence[T], cell_of: Callable[[T], object], shard: tuple[int, int],
              expected_s: Callable[[object], float]) -> list[T]:
    """The items that belong to other shards than ``shard`` = (K, N)."""
    k, n = shard
    keys = {id(it): f"{i:08d}" for i, it in enumerate(items)}
    shards = shard_of([(keys[id(it)], expected_s(cell_of(it))) for it in items], n)
    return [it for it in items if shards[keys[id(it)]] != k]


# What an early verdict cuts short (tracker.can_stop_early): expected so, a cell is
# assumed to take a quarter of its soak when balancing shards and workers.
EARLY_VERDICTS = frozenset({"restarts", "not-started", "cluster-fails"})


def kind_seconds(cell: Cell, kind: KindSettings) -> float:
    """A kind cell's expected duration: its soak (a quarter for a cell expected to stop
    early on its verdict) plus create, check and rollout."""
    soak = kind.soak_for(cell)
    if cell.expected in EARLY_VERDICTS and not kind.full_soak:
        soak /= 4
    return soak + KIND_OVERHEAD_S


def probe_seconds(window_s: float) -> float:
    return window_s + PROBE_OVERHEAD_S


def node_seconds(node: NodeSettings, backend: str = "docker") -> float:
    return node.seconds_for(backend)


def paired(items: Sequence[T], expected_s: Callable[[T], float]) -> list[T]:
    """The items ordered longest, shortest, second longest, second shortest, ...

    xdist hands every worker its first two items at once (a worker needs the next item
    before it runs one), so with up to two cells per worker nothing is rebalanced later:
    eight cells on four workers in grid order put two full soaks on one worker. Pairing
    long with short evens the workers out. Ties keep the collected order, so every
    worker computes the same order.
    """
    ranked = sorted(items, key=lambda it: -expected_s(it))
    return [ranked[i // 2] if i % 2 == 0 else ranked[-(i // 2) - 1]
            for i in range(len(ranked))]


def default_max_clusters(nodes_per_cluster: int, cpus: int | None = None,
                         mem_gib: float | None = None) -> int:
    """How many clusters fit at once on this machine, by the per-node assumption above."""
    cpus = cpus or os.cpu_count() or 1
    mem_gib = mem_gib if mem_gib is not None else _memory_gib()
    nodes = max(1.0, min(cpus / NODE_CPUS, mem_gib / NODE_GIB))
    return max(1, int(nodes // max(1, nodes_per_cluster)))


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return 4.0


def inotify_warnings(proc: Path = Path("/proc/sys/fs/inotify")) -> list[str]:
    """One line per inotify limit below what kind recommends, naming the sysctl."""
    out = []
    for name, wanted in INOTIFY_WANTED.items():
        try:
            have = int((proc / name).read_text().strip())
        except (OSError, ValueError):
            continue
        if have < wanted:
            out.append(f"warning: fs.inotify.{name} is {have}, below the {wanted} kind "
                       f"recommends for several clusters; raise it with: sysctl -w "
                       f"fs.inotify.{name}={wanted}")
    return out


class _Sleeper(Protocol):
    def sleep(self, seconds: float) -> None: ...


@contextmanager
def slot(slots_dir: Path, limit: int, clock: Clock | _Sleeper,
         poll_s: float = 1.0) -> Iterator[int]:
    """Hold one of ``limit`` slots shared by every process of the run; yields its number.

    A slot is an exclusive lock on ``slot-<n>``: the kernel drops it when the holder
    ends, so a killed worker never leaks one.
    """
    slots_dir.mkdir(parents=True, exist_ok=True)
    held: IO[bytes] | None = None
    number = 0
    while held is None:
        for n in range(1, limit + 1):
            fh = (slots_dir / f"slot-{n}").open("ab")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                continue
            held, number = fh, n
            break
        else:
            clock.sleep(poll_s)
    try:
        yield number
    finally:
        fcntl.flock(held, fcntl.LOCK_UN)
        held.close()
