"""The probe tier: a variant's effective config under a real containerd, in seconds.

Steps, each a finding when it fails (:data:`~..verdict.STEP_VERDICTS`): the daemon
starts and stays up (``config``); CRI reports RuntimeReady (``cri``); a pod sandbox runs
(``sandbox``); a container starts (``container``) and still runs after ``window_s``
(``exit``); else ``stable``. Host trouble is ``unknown``. The life around the steps is
:func:`~..life.live`'s.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from .. import runrecord, tools
from ..cells import ProbeCell
from ..containerd.config import CRI_PLUGINS, view
from ..containerd.words import cri_load_error, exit_error, pull_trouble
from ..cri.archive import IMAGE_REF, SLEEP_FOREVER, write_archive
from ..cri.client import CriClient
from ..cri.pods import cgroup_parent, container_config, pod_config
from ..cri.waits import wait_images, wait_ready
from ..errors import ConformanceError, CriCallError, ProbeError, RefusedBinary, StepFailed
from ..life import Judged, StepLife, live
from ..model import CellResult, ConfigCheck
from ..redact import write_private
from ..settings import ProbeSettings
from ..signals import shielded
from ..versions import parse_version
from . import daemon as d
from .diagnose import host_explanation, untestable_here
from .host import host_facts, unavailable_reason
from .hostpaths import raw_config, refuse_foreign_binaries, write_into_tree
from .overrides import adapt

START_TIMEOUT_S = 30.0
READY_TIMEOUT_S = 20.0
POLL_S = 1.0


def probe_available(settings: ProbeSettings | None = None) -> str | None:
    """None when the probe can run here, else the reason (for a pytest skip)."""
    facts = host_facts(settings.containerd_bin if settings else None,
                       settings.ctr_bin if settings else None)
    return unavailable_reason(facts)


def run_cell(cell: ProbeCell, settings: ProbeSettings, repeat: int = 1,
               record: Path | None = None) -> CellResult:
    """One probe cell, start to finish; the host's containerd fills in the cell's axes.
    ``record`` is the run's started.jsonl, where every tree and daemon is named first."""
    return live(ProbeLife(cell, settings, repeat, record), settings.clock)


@dataclass
class _Live:
    """What is running right now, so tear-down finds it whatever step was interrupted."""

    dirs: d.ProbeDirs | None = None
    daemon: tools.Daemon | None = None
    client: CriClient | None = None
    sandbox_id: str = ""


class ProbeLife(StepLife):
    where = "probe host"

    def __init__(self, cell: ProbeCell, settings: ProbeSettings, repeat: int,
                 record: Path | None) -> None:
        super().__init__(cell.target, repeat)
        self.settings, self.record = settings, record
        self.facts = host_facts(settings.containerd_bin, settings.ctr_bin)
        self.cell = ProbeCell(cell.target, containerd=self.facts.containerd_semver)
        self.driver = self.rec_driver = cell.target.kubelet_cgroup_driver
        self.live = _Live()
        self.systemd_requested = False
        self.keep = (settings.keep_logs_dir / self.cell.slug(repeat)
                     if settings.keep_logs_dir else None)

    def declared(self) -> ProbeCell:
        return self.cell

    def not_tested(self) -> str:
        if isinstance(self.config, str):
            return ""
        return super().not_tested() or untestable_here(self.target, self.facts)


    def config_check(self) -> ConfigCheck:
        return ConfigCheck(containerd_version=self.facts.containerd_version,
                           kubelet_cgroup_driver=self.driver, skipped_patches=self.skipped,
                           overrides=tuple(self.rec.overrides), host=self.facts.as_dict())

    def trouble(self, exc: ConformanceError) -> None:
        if isinstance(exc, RefusedBinary):
            self.rec.trouble, self.rec.trouble_subtype = str(exc), "refused-binary"
        else:
            super().trouble(exc)

    def failed(self, exc: StepFailed) -> None:
        exc.explained = host_explanation(exc.step, exc.error, self.facts,
                                         self.systemd_requested)
        super().failed(exc)

    def observe(self) -> None:
        reason = unavailable_reason(self.facts)
        if reason:
            self.rec.trouble = reason
            return
        with shielded():  # the tree and its record appear together, or not at all
            dirs = self.live.dirs = d.ProbeDirs.create(self.settings.workdir)
            runrecord.append(self.record, "probe", base=str(dirs.base),
                             sock_dir=str(dirs.sock_dir), token=dirs.token)
        self._steps(dirs)

    def release(self, judged: Judged, interrupted: bool) -> list[str]:
        live = self.live
        if live.client is not None:
            if live.sandbox_id and live.daemon is not None and live.daemon.alive():
                live.client.discard_sandbox(live.sandbox_id)
            live.client.close()
        if live.dirs is None:
            return []
        problems = d.teardown(live.dirs, live.daemon, self.settings.clock, self.keep)
        return [f"tear-down: {p}" for p in problems]

    # --- the steps ---------------------------------------------------------------------------

    def _write_config(self, dirs: d.ProbeDirs) -> str:
        """The config adapted to this host; returns the snapshotter images go to."""
        facts, config, rec = self.facts, self.config, self.rec
        if not isinstance(config, dict):
            text, notes = raw_config(config, dirs.base, self.target.variant.path.parent,
                                     self.settings.allowed_binaries)
            rec.overrides += notes
            write_private(dirs.config, text)
            return "overlayfs"
        if config.get("version") == 3 and (parse_version(facts.containerd_version)
                                          or (0, 0, 0)) < (2, 0, 0):
            raise ProbeError(f"containerd {facts.containerd_version} cannot read a version 3 "
                             "config; the probe needs containerd 2.x for it")
        overlay_ok = facts.overlay_supported and d.fs_type(dirs.base) != "overlay"
        adapted = adapt(config, facts, dirs.isolation(), image_ref=IMAGE_REF,
                        kubelet_driver=self.driver, overlay_usable=overlay_ok,
                        emulate_systemd=self.settings.emulate_systemd,
                        variant_dir=self.target.variant.path.parent,
                        allowed=tuple(self.settings.allowed_binaries))
        refuse_foreign_binaries(adapted.data, self.settings.allowed_binaries)
        write_into_tree(adapted.files)
        rec.overrides, self.rec_driver = list(adapted.overrides), adapted.kubelet_driver
        self.systemd_requested = adapted.systemd_requested
        if adapted.needs_base_spec:
            assert facts.ctr_bin
            spec = tools.run([facts.ctr_bin, "oci", "spec"], timeout=30).stdout
            dirs.isolation().base_spec.write_text(spec)
        write_private(dirs.config, tomli_w.dumps(adapted.data))  # removed at tear-down
        if adapted.kubelet_driver != self.driver:
            rec.notes.append(f"kubelet cgroup driver {self.driver} emulated as "
                             f"{adapted.kubelet_driver} (sandbox cgroup_parent format)")
        return view(adapted.data).snapshotter

    def _steps(self, dirs: d.ProbeDirs) -> None:
        facts, rec, clock = self.facts, self.rec, self.settings.clock
        assert facts.busybox and facts.ctr_bin and facts.containerd_bin  # unavailable_reason
        write_archive(dirs.image_tar, Path(facts.busybox))
        snapshotter = self._write_config(dirs)
        daemon = self.live.daemon = d.start_containerd(facts.containerd_bin, dirs)
        runrecord.append(self.record, "daemon", pid=daemon.pid,
                         ticks=runrecord.start_ticks(daemon.pid))
        if not d.wait_for_socket(daemon, dirs.address, clock, START_TIMEOUT_S):
            if daemon.alive():
                raise ProbeError(f"containerd did not open its socket in {START_TIMEOUT_S:.0f}s")
            daemon.stop()
            raise StepFailed("config", exit_error(daemon.log_text()))
        rec.notes.append("daemon started")
        client = self.live.client = CriClient(dirs.address)
        self._cri_ready(client, daemon)
        tools.run([facts.ctr_bin, "-a", dirs.address, "-n", d.CONTAINERD_NAMESPACE, "images",
                   "import", "--snapshotter", snapshotter, str(dirs.image_tar)], timeout=120)
        wait_images(client, clock, (IMAGE_REF,))
        uid = str(uuid.uuid4())
        sb_config = pod_config(f"probe-{dirs.token}", uid, namespace="calico-conformance",
                               attempt=0, log_dir=str(dirs.base / "logs"),
                               cgroup_parent=cgroup_parent(self.rec_driver,
                                                           (f"ccprobe{dirs.token}",), uid),
                               labels={"app.kubernetes.io/name": "calico-conformance-probe"})
        try:
            sandbox_id = self.live.sandbox_id = client.run_sandbox(sb_config)
        except CriCallError as exc:
            raise StepFailed("sandbox", exc.details,
                             explained=pull_trouble(exc.details)) from exc
        dirs.task_ids.add(sandbox_id)
        rec.notes.append(f"pod sandbox {sandbox_id[:12]} running")
        try:
            cid = client.start(sandbox_id, sb_config, container_config(
                "sleeper", attempt=0, image=IMAGE_REF, command=list(SLEEP_FOREVER),
                log_path="sleeper.log"))
        except CriCallError as exc:
            raise StepFailed("container", exc.details) from exc
        dirs.task_ids.add(cid)
        rec.notes.append(f"container {cid[:12]} started")
        self._watch(client, daemon, cid)

    def _cri_ready(self, client: CriClient, daemon: tools.Daemon) -> None:
        ready = wait_ready(client, self.settings.clock, READY_TIMEOUT_S, daemon.alive)
        if ready.ready:
            self.rec.notes.append(f"CRI ready: {ready.version}")
            if not ready.network_ready:
                self.rec.notes.append("NetworkReady false (no CNI on a probe host; pods use "
                                      "the node network)")
            return
        log = daemon.log_text()
        if not daemon.alive():
            raise StepFailed("config", exit_error(log))
        error = cri_load_error(log) or ready.last or "CRI did not become ready"
        config = self.config
        disabled = view(config).disabled_plugins if isinstance(config, dict) else ()
        cri_off = tuple(p for p in disabled if p in CRI_PLUGINS)
        if cri_off:  # containerd logs nothing for a disabled plugin; say why it is missing
            error += f" (disabled_plugins = {list(cri_off)})"
        if ready.last and ready.last != error:
            self.rec.notes.append(ready.last)
        raise StepFailed("cri", error)

    def _watch(self, client: CriClient, daemon: tools.Daemon, cid: str) -> None:
        clock, rec, window = self.settings.clock, self.rec, self.settings.window_s
        start = clock.monotonic()
        while True:
            elapsed = clock.monotonic() - start
            rec.watched_s = round(elapsed, 3)
            if not daemon.alive():
                raise StepFailed("cri", "containerd exited during the window: "
                                 f"{exit_error(daemon.log_text())}")
            try:
                st = client.container_status(cid)
            except CriCallError as exc:
                rec.trouble = f"ContainerStatus failed: {exc}"
                return
            if not st.running:
                rec.exit_codes = (st.exit_code,)
                msg = f"container {st.state} after {elapsed:.1f}s: exit code {st.exit_code}"
                msg += f", {st.reason}" if st.reason else ""
                msg += f": {st.message}" if st.message else ""
                raise StepFailed("exit", msg)
            if elapsed >= window:
                rec.completed = True
                rec.notes.append(f"container running through the {window:g}s window")
                return
            clock.sleep(min(POLL_S, window - elapsed))
