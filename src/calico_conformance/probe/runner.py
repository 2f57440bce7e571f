"""The probe tier: a variant's effective config under a real containerd, in seconds.

Steps, each a verdict when it fails: the daemon starts and stays up (``config-rejected``);
CRI reports RuntimeReady (``cri-unavailable``); a pod sandbox runs (``sandbox-fails``); a
container starts (``container-fails``) and still runs after ``window_s``
(``container-exits``); else ``stable``. Host trouble is ``unknown``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from .. import runrecord, tools
from ..cells import ProbeCell
from ..clock import Clock
from ..containerd.config import CRI_PLUGINS, view
from ..errors import CriCallError, InputError, ProbeError, ToolError
from ..model import CellResult, ConfigCheck, Evidence, Verdict
from ..redact import write_private
from ..results import build_result
from ..settings import ProbeSettings
from ..signals import confirm, shielded
from ..versions import parse_version
from . import daemon as d
from .cri import CriClient
from .diagnose import cri_load_error, exit_error, host_explanation, untestable_here
from .host import HostFacts, host_facts, unavailable_reason
from .hostpaths import RefusedBinary, copy_into_tree, raw_config, refuse_foreign_binaries
from .image import IMAGE_REF, SLEEP_FOREVER, write_archive
from .overrides import adapt

START_TIMEOUT_S = 30.0
READY_TIMEOUT_S = 20.0
POLL_S = 1.0


@dataclass
class ProbeRun:
    """What one probe saw so far; filled step by step, judged when the steps stop."""

    verdict: Verdict = Verdict.UNKNOWN
    error: str = ""
    subtype: str = ""
    notes: list[str] = field(default_factory=list)
    overrides: tuple[str, ...] = ()
    kubelet_driver: str = ""
    watched_s: float = 0.0
    exit_codes: tuple[int, ...] = ()


def probe_available(settings: ProbeSettings | None = None) -> str | None:
    """None when the probe can run here, else the reason (for a pytest skip)."""
    facts = host_facts(settings.containerd_bin if settings else None,
                       settings.ctr_bin if settings else None)
    return unavailable_reason(facts)


def probe_cell(cell: ProbeCell, settings: ProbeSettings, repeat: int = 1) -> CellResult:
    """One probe cell, start to finish; the host's containerd fills in the cell's axes."""
    clock = settings.clock
    started = clock.now().isoformat()
    facts = host_facts(settings.containerd_bin, settings.ctr_bin)
    cell = ProbeCell(cell.target, containerd=facts.containerd_semver)
    driver = cell.target.kubelet_cgroup_driver
    skipped: tuple[str, ...] = ()
    config: dict[str, Any] | str
    obs = ProbeRun(kubelet_driver=driver)
    not_tested = ""
    try:
        eff = cell.target.effective
        config, skipped = eff.data, tuple(s.describe() for s in eff.skipped)
        not_tested = cell.target.skipped_by_kind() or untestable_here(cell.target, facts)
    except InputError as exc:
        # kind itself would refuse this patch; hand containerd the text as written.
        config = cell.variant.text
        obs.notes.append(f"no effective config ({exc.one_line()}); containerd was given "
                         "the variant text as written")
    reason = unavailable_reason(facts)
    if reason:
        obs.error = reason
    else:
        keep = settings.keep_logs_dir / cell.slug(repeat) if settings.keep_logs_dir else None
        _observe(config, driver, facts, settings, obs, keep, cell.variant.path.parent)
    return build_result(
        cell, obs.verdict, subtype=obs.subtype, repeat=repeat,
        not_tested=not_tested,
        evidence=Evidence(error=obs.error, notes=tuple(obs.notes), watched_s=obs.watched_s,
                          exit_codes=obs.exit_codes),
        config_check=ConfigCheck(containerd_version=facts.containerd_version,
                                 kubelet_cgroup_driver=driver, skipped_patches=skipped,
                                 overrides=obs.overrides, host=facts.as_dict()),
        started_at=started, finished_at=clock.now().isoformat())


@dataclass
class _Live:
    """What is running right now, so tear-down finds it whatever step was interrupted."""

    daemon: tools.Daemon | None = None
    client: CriClient | None = None
    sandbox_id: str = ""


def _observe(config: dict[str, Any] | str, driver: str, facts: HostFacts,
             settings: ProbeSettings, obs: ProbeRun, keep_logs: Path | None,
             variant_dir: Path | None = None) -> None:
    """Run one throw-away containerd and fill ``obs``; tear-down is total, always."""
    dirs: d.ProbeDirs | None = None
    live = _Live()
    try:
        with shielded():  # the tree and its record appear together, or not at all
            dirs = d.ProbeDirs.create(settings.workdir)
            runrecord.append(settings.record, "probe", base=str(dirs.base),
                             sock_dir=str(dirs.sock_dir), token=dirs.token)
        _steps(config, driver, facts, settings, obs, dirs, live, variant_dir)
    except RefusedBinary as exc:
        obs.verdict, obs.subtype, obs.error = Verdict.UNKNOWN, "refused-binary", str(exc)
    except (ProbeError, ToolError) as exc:
        obs.verdict, obs.error = Verdict.UNKNOWN, f"probe host trouble: {exc}"
    except KeyboardInterrupt:
        confirm()  # on its way out: later signals wait for the tear-down below
        raise
    finally:
        with shielded():  # a second Ctrl-C or SIGTERM waits for the tear-down
            if live.client is not None:
                if live.sandbox_id and live.daemon is not None and live.daemon.alive():
                    with contextlib.suppress(CriCallError):
                        live.client.remove_sandbox(live.sandbox_id)
                live.client.close()
            if dirs is not None:
                problems = d.teardown(dirs, live.daemon, settings.clock, keep_logs)
                obs.notes.extend(f"tear-down: {p}" for p in problems)


def _steps(config: dict[str, Any] | str, driver: str, facts: HostFacts, settings: ProbeSettings,
           obs: ProbeRun, dirs: d.ProbeDirs, live: _Live, variant_dir: Path | None) -> None:
    clock = settings.clock
    assert facts.busybox and facts.ctr_bin and facts.containerd_bin  # unavailable_reason checked
    write_archive(dirs.image_tar, Path(facts.busybox))
    systemd_requested = False
    snapshotter = "overlayfs"
    if isinstance(config, dict):
        if config.get("version") == 3 and (parse_version(facts.containerd_version)
                                          or (0, 0, 0)) < (2, 0, 0):
            raise ProbeError(f"containerd {facts.containerd_version} cannot read a version 3 "
                             "config; the probe needs containerd 2.x for it")
        overlay_ok = facts.overlay_supported and d.fs_type(dirs.base) != "overlay"
        adapted = adapt(config, facts, dirs.isolation(), image_ref=IMAGE_REF,
                        kubelet_driver=driver, overlay_usable=overlay_ok,
                        emulate_systemd=settings.emulate_systemd, variant_dir=variant_dir)
        refuse_foreign_binaries(adapted.data, settings.allowed_binaries)
        copy_into_tree(adapted.copies)
        obs.overrides, obs.kubelet_driver = adapted.overrides, adapted.kubelet_driver
        systemd_requested = adapted.systemd_requested
        snapshotter = view(adapted.data).snapshotter
        if adapted.needs_base_spec:
            spec = tools.run([facts.ctr_bin, "oci", "spec"], timeout=30).stdout
            dirs.isolation().base_spec.write_text(spec)
        write_private(dirs.config, tomli_w.dumps(adapted.data))  # removed at tear-down
        if adapted.kubelet_driver != driver:
            obs.notes.append(f"kubelet cgroup driver {driver} emulated as "
                             f"{adapted.kubelet_driver} (sandbox cgroup_parent format)")
    else:
        text, notes = raw_config(config, dirs.base, variant_dir, settings.allowed_binaries)
        obs.overrides = (*obs.overrides, *notes)
        write_private(dirs.config, text)

    daemon = live.daemon = d.start_containerd(facts.containerd_bin, dirs)
    runrecord.append(settings.record, "daemon", pid=daemon.pid,
                     ticks=runrecord.start_ticks(daemon.pid))
    if not d.wait_for_socket(daemon, dirs.address, clock, START_TIMEOUT_S):
        if daemon.alive():
            raise ProbeError(f"containerd did not open its socket in {START_TIMEOUT_S:.0f}s")
        daemon.stop()
        obs.verdict, obs.error = Verdict.CONFIG_REJECTED, exit_error(daemon.log_text())
        return
    obs.notes.append("daemon started")

    client = live.client = CriClient(dirs.address)
    disabled = view(config).disabled_plugins if isinstance(config, dict) else ()
    cri_off = tuple(p for p in disabled if p in CRI_PLUGINS)
    if not _cri_ready(client, daemon, clock, obs, cri_off):
        return
    tools.run([facts.ctr_bin, "-a", dirs.address, "-n", d.CONTAINERD_NAMESPACE, "images", "import",
               "--snapshotter", snapshotter, str(dirs.image_tar)], timeout=120)
    _wait_image(client, clock)

    sb_config = client.sandbox_config(obs.kubelet_driver, dirs.token, dirs.base / "logs")
    try:
        sandbox_id = client.run_sandbox(sb_config)
    except CriCallError as exc:
        _fail(obs, Verdict.SANDBOX_FAILS, exc.details, facts, systemd_requested)
        return
    live.sandbox_id = sandbox_id
    dirs.task_ids.add(sandbox_id)
    obs.notes.append(f"pod sandbox {sandbox_id[:12]} running")
    try:
        cid = client.start_container(sandbox_id, sb_config, IMAGE_REF, list(SLEEP_FOREVER))
    except CriCallError as exc:
        _fail(obs, Verdict.CONTAINER_FAILS, exc.details, facts, systemd_requested)
        return
    dirs.task_ids.add(cid)
    obs.notes.append(f"container {cid[:12]} started")
    _watch(client, daemon, cid, settings, obs, facts, systemd_requested)


def _cri_ready(client: CriClient, daemon: tools.Daemon, clock: Clock, obs: ProbeRun,
               disabled: tuple[str, ...]) -> bool:
    deadline = clock.monotonic() + READY_TIMEOUT_S
    last = ""
    while clock.monotonic() < deadline and daemon.alive():
        try:
            version = client.version()
            status = client.status()
        except CriCallError as exc:
            last = str(exc)
            if exc.code == "UNIMPLEMENTED":  # no CRI service registered: the plugin is out
                break
        else:
            if status.runtime_ready:
                obs.notes.append(f"CRI ready: {version}")
                if not status.network_ready:
                    obs.notes.append("NetworkReady false (no CNI on a probe host; pods use "
                                     "the node network)")
                return True
            last = f"RuntimeReady false: {status.reason}"
        clock.sleep(0.5)
    log = daemon.log_text()
    if not daemon.alive():
        obs.verdict, obs.error = Verdict.CONFIG_REJECTED, exit_error(log)
        return False
    obs.verdict = Verdict.CRI_UNAVAILABLE
    obs.error = cri_load_error(log) or last or "CRI did not become ready"
    if disabled:  # containerd logs nothing for a disabled plugin; say why it is missing
        obs.error += f" (disabled_plugins = {list(disabled)})"
    if last and last != obs.error:
        obs.notes.append(last)
    return False


def _wait_image(client: CriClient, clock: Clock) -> None:
    """CRI learns about ctr's import from an event; wait until it can see the image."""
    deadline = clock.monotonic() + 15.0
    while clock.monotonic() < deadline:
        with contextlib.suppress(CriCallError):
            if client.image_present(IMAGE_REF):
                return
        clock.sleep(0.2)
    raise ProbeError(f"CRI does not see the imported image {IMAGE_REF}")


def _watch(client: CriClient, daemon: tools.Daemon, cid: str, settings: ProbeSettings,
           obs: ProbeRun, facts: HostFacts, systemd_requested: bool) -> None:
    clock = settings.clock
    start = clock.monotonic()
    while True:
        elapsed = clock.monotonic() - start
        obs.watched_s = round(elapsed, 3)
        if not daemon.alive():
            obs.verdict = Verdict.CRI_UNAVAILABLE
            obs.error = f"containerd exited during the window: {exit_error(daemon.log_text())}"
            return
        try:
            st = client.container_state(cid)
        except CriCallError as exc:
            obs.verdict, obs.error = Verdict.UNKNOWN, f"ContainerStatus failed: {exc}"
            return
        if not st.running:
            obs.exit_codes = (st.exit_code,)
            msg = f"container {st.state} after {elapsed:.1f}s: exit code {st.exit_code}"
            msg += f", {st.reason}" if st.reason else ""
            msg += f": {st.message}" if st.message else ""
            _fail(obs, Verdict.CONTAINER_EXITS, msg, facts, systemd_requested)
            return
        if elapsed >= settings.window_s:
            obs.verdict = Verdict.STABLE
            obs.notes.append(f"container running through the {settings.window_s:g}s window")
            return
        clock.sleep(min(POLL_S, settings.window_s - elapsed))


def _fail(obs: ProbeRun, verdict: Verdict, error: str, facts: HostFacts,
          systemd_requested: bool) -> None:
    reason = host_explanation(verdict, error, facts, systemd_requested)
    if reason:
        obs.verdict, obs.subtype = Verdict.UNKNOWN, "host-explained"
        obs.notes.append(f"would be {verdict.value}: {error}")
        obs.error = reason
    else:
        obs.verdict, obs.error = verdict, error
