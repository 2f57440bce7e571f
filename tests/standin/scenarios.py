"""Scripted calico-node behaviours, as data.

A :class:`Scenario` is a list of timed :class:`Step` s applied to every pod of the
``calico-node`` DaemonSet, in *scenario seconds* (the StandIn plays them at
``time_scale`` real seconds per scenario second). ``steps`` run once from pod
creation; ``cycle`` then repeats every ``period`` seconds. Cluster-level effects
(kind failing, watch drops, etcd compaction, config drift) are plain fields.

Messages are the kubelet's and calico-node's own wording, so production parsers
meet what they will meet on a real cluster (projectcalico/calico#9524 shows the
``Completed``/exit 0 restarts and the ``BIRD is not ready`` readiness failures).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class EventSpec:
    """A core/v1 Event the kubelet would emit. ``{pod}``, ``{uid}``, ``{node}``,
    ``{image}``, ``{container}`` and ``{ns}`` are substituted."""

    reason: str
    message: str
    type: str = "Warning"
    component: str = "kubelet"


@dataclass(frozen=True)
class Termination:
    reason: str  # Completed / Error / OOMKilled
    exit_code: int
    log: tuple[str, ...] = ()  # last lines the dying container wrote


@dataclass(frozen=True)
class Step:
    at: float  # scenario seconds after pod creation (steps) or cycle start (cycle)
    ready: bool | None = None
    terminated: Termination | None = None  # container ended: lastState, restartCount+1
    running: bool = False  # (re)start the container: state.running with a new startedAt
    waiting: str = ""  # state.waiting reason, e.g. CrashLoopBackOff
    waiting_message: str = ""
    events: tuple[EventSpec, ...] = ()
    log: tuple[str, ...] = ()  # lines appended to the current container log
    every: int = 1  # in a cycle: only on cycles n where n % every == 0
    sandbox_recreated: bool = False  # a new sandbox: every init container runs again


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    steps: tuple[Step, ...] = ()
    cycle: tuple[Step, ...] = ()
    period: float = 0.0
    max_cycles: int = 500  # a bound, so a player thread always ends
    pending: str = ""  # the pod never starts: container waiting with this reason
    kind_create_fails: bool = False
    drop_watches_at: float | None = None  # scenario s after calico-node is applied
    compact_at: float | None = None
    config_drift: bool = False
    tags: tuple[str, ...] = field(default=())


STARTUP_LOG = (
    "[INFO][9] startup/startup.go 445: Early log level set to info",
    "[INFO][9] startup/utils.go 126: Using NODENAME environment for node name {node}",
    "[INFO][9] startup/startup.go 106: Datastore is ready",
    "[INFO][62] felix/daemon.go 400: Successfully loaded configuration. GOMAXPROCS=8",
    "[INFO][62] felix/health.go 336: Overall health status changed: live=true ready=true",
    "bird: Mesh_172_18_0_3: State changed to up",
)
SIGTERM_LOG = (
    "[INFO][62] felix/daemon.go 1246: Received SIGTERM, shutting down",
    "[INFO][62] felix/daemon.go 1281: Shutdown... reason=\"received SIGTERM\"",
)

READY = Step(at=5.0, ready=True, log=STARTUP_LOG)
FELIX_NOT_LIVE = ("calico/node is not ready: Felix is not live: Get "
                  "\"http://localhost:9099/liveness\": dial tcp [::1]:9099: connect: "
                  "connection refused")
BIRD_SOCKET = ("calico/node is not ready: BIRD is not ready: Error querying BIRD: unable to "
               "connect to BIRDv4 socket: dial unix /var/run/calico/bird.ctl: connect: "
               "connection refused")
BACKOFF = EventSpec("BackOff", "Back-off restarting failed container {container} in pod "
                               "{pod}_{ns}({uid})")
STARTED = (EventSpec("Pulled", "Container image \"{image}\" already present on machine", "Normal"),
           EventSpec("Created", "Created container {container}", "Normal"),
           EventSpec("Started", "Started container {container}", "Normal"))
# runc with systemd cgroups refuses a cgroupfs-style path (containerd/containerd#4857).
SANDBOX_MSG = ("Failed to create pod sandbox: rpc error: code = Unknown desc = failed to create "
               "containerd task: failed to create shim task: OCI runtime create failed: runc "
               "create failed: expected cgroupsPath to be of format \"slice:prefix:name\" for "
               "systemd cgroups, got \"/kubepods/burstable/pod{uid}/"
               "9f1c2d3e4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff\" instead: unknown")

SCENARIOS: dict[str, Scenario] = {}


def register(scenario: Scenario) -> Scenario:
    SCENARIOS[scenario.name] = scenario
    return scenario


register(Scenario("stable", "Running, Ready after ~5 s, stays.", steps=(READY,)))
register(Scenario(
    "restarts-exit0", "Liveness kills every ~20 s; the container ends Completed/0 (#9524).",
    steps=(READY,), period=20.0, cycle=(
        Step(at=12.0, ready=False, events=(EventSpec("Unhealthy",
                                                     "Liveness probe failed: " + FELIX_NOT_LIVE),)),
        Step(at=14.0, terminated=Termination("Completed", 0, SIGTERM_LOG), running=True,
             events=(EventSpec("Killing", "Container {container} failed liveness probe, will "
                                          "be restarted", "Normal"), *STARTED)),
        Step(at=14.5, every=2, sandbox_recreated=True, events=(EventSpec(
            "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.",
            "Normal"),)),
        Step(at=18.0, ready=True, log=STARTUP_LOG),
    )))
register(Scenario(
    "crashloop-exit1", "Exits 1 and backs off: CrashLoopBackOff.",
    steps=(Step(at=3.0, terminated=Termination("Error", 1, (
        "[FATAL][9] startup/startup.go 183: Failed to initialize datastore",)),
        waiting="CrashLoopBackOff",
        waiting_message="back-off 10s restarting failed container={container} pod={pod}_{ns}"
                        "({uid})", events=(BACKOFF,)),),
    period=20.0, cycle=(
        Step(at=10.0, running=True, events=STARTED),
        Step(at=13.0, terminated=Termination("Error", 1, (
            "[FATAL][9] startup/startup.go 183: Failed to initialize datastore",)),
            waiting="CrashLoopBackOff",
            waiting_message="back-off 20s restarting failed container={container} "
                            "pod={pod}_{ns}({uid})", events=(BACKOFF,)),
    )))
register(Scenario(
    "never-ready-bird", "Running, never Ready: BIRD socket refused.",
    steps=(Step(at=2.0, log=STARTUP_LOG[:4]),), period=10.0,
    cycle=(Step(at=5.0, events=(
        EventSpec("Unhealthy", "Readiness probe failed: " + BIRD_SOCKET),)),)))
register(Scenario(
    "flapping", "Readiness lost and regained repeatedly, no restarts.",
    steps=(READY,), period=30.0, cycle=(
        Step(at=10.0, ready=False, events=(EventSpec(
            "Unhealthy", "Readiness probe failed: calico/node is not ready: BIRD is not ready: "
                         "BGP not established with 172.18.0.3"),)),
        Step(at=20.0, ready=True, log=("bird: Mesh_172_18_0_3: State changed to up",)),
    )))
register(Scenario(
    "oom", "OOMKilled (exit 137) restarts.",
    steps=(READY,), period=40.0, cycle=(
        Step(at=30.0, ready=False, terminated=Termination("OOMKilled", 137), running=True,
             events=STARTED),
        Step(at=35.0, ready=True, log=STARTUP_LOG),
    )))
register(Scenario(
    "sandbox-fails", "Pending: runc refuses the sandbox cgroupsPath.",
    pending="ContainerCreating", period=15.0,
    cycle=(Step(at=2.0, events=(EventSpec("FailedCreatePodSandBox", SANDBOX_MSG),)),)))
register(Scenario(
    "image-pull", "Pending: the image cannot be pulled.",
    pending="ErrImagePull", period=20.0, cycle=(
        Step(at=2.0, waiting="ErrImagePull", waiting_message="failed to pull and unpack image",
             events=(EventSpec("Failed", "Failed to pull image \"{image}\": failed to pull and "
                                         "unpack image \"{image}\": failed to resolve reference "
                                         "\"{image}\": dial tcp: lookup registry-1.docker.io: "
                                         "i/o timeout"),
                     EventSpec("Failed", "Error: ErrImagePull"))),
        Step(at=4.0, waiting="ImagePullBackOff",
             waiting_message="Back-off pulling image \"{image}\"",
             events=(EventSpec("BackOff", "Back-off pulling image \"{image}\"", "Normal"),
                     EventSpec("Failed", "Error: ImagePullBackOff"))),
    )))
register(Scenario("kind-create-fails", "kubeadm init fails: containerd's CRI plugin did not load.",
                  kind_create_fails=True))
register(Scenario("watch-drop", "Stable, but every open watch is cut once mid-soak.",
                  steps=(READY,), drop_watches_at=60.0))
register(Scenario("gone-410", "Stable, but history is compacted mid-soak: the next watch gets 410.",
                  steps=(READY,), compact_at=60.0))
register(Scenario("config-drift", "Stable, but a worker's containerd config differs from kind's "
                                  "merge (SystemdCgroup = false).", steps=(READY,),
                  config_drift=True))


def lookup(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        known = ", ".join(SCENARIOS)
        raise KeyError(f"unknown stand-in scenario {name!r} (known: {known})") from None
