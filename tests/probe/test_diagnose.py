"""Verdicts, outcomes and the quoted line come out of containerd's words by fixed rules."""

from __future__ import annotations

import pytest

from calico_conformance.containerd.words import (
    booted,
    cri_load_error,
    exit_error,
    log_fields,
    pull_trouble,
    serving_addresses,
)
from calico_conformance.model import Outcome, Verdict
from calico_conformance.probe.diagnose import host_explanation
from calico_conformance.verdict import outcome as outcome_of

from .hosts import NO_SYSTEMD, SYSTEMD_NODE

# Lines as containerd 1.6.20 wrote them on this project's CI host.
CRI_LOAD = ('time="2026-11-29T05:42:54Z" level=warning msg="failed to load plugin '
            'io.containerd.grpc.v1.cri" error="invalid plugin config: no corresponding runtime '
            'configured in `containerd.runtimes` for `containerd` `default_runtime_name = '
            '\\"crun\\"`"')
CNI = ('time="2026-11-29T05:42:54Z" level=error msg="failed to load cni during init" '
       'error="cni config load failed: no network config found"')
NO_SYSTEMD_ERR = ("failed to create containerd task: failed to create shim task: OCI runtime "
                  "create failed: runc create failed: systemd not running on this host, cannot "
                  "use systemd cgroups manager: unknown")
FORMAT_ERR = ('OCI runtime create failed: runc create failed: expected cgroupsPath to be of '
              'format "slice:prefix:name" for systemd cgroups, got "/x/pod1/abc" instead')


@pytest.mark.parametrize(("verdict", "expected", "outcome"), [
    (Verdict.STABLE, "stable", Outcome.PASS),
    (Verdict.SANDBOX_FAILS, "stable", Outcome.FAIL),
    (Verdict.CRI_UNAVAILABLE, "cri-unavailable", Outcome.XFAIL),
    (Verdict.SANDBOX_FAILS, "cri-unavailable", Outcome.FAIL),
    (Verdict.STABLE, "sandbox-fails", Outcome.XPASS),
    (Verdict.SANDBOX_FAILS, "", Outcome.OBSERVED),
    (Verdict.UNKNOWN, "stable", Outcome.UNKNOWN),
])
def test_a_verdict_is_judged_against_the_variants_probe_expectation(
        verdict: Verdict, expected: str, outcome: Outcome) -> None:
    assert outcome_of(expected, verdict) is outcome


def test_a_systemd_failure_on_a_host_without_systemd_is_explained_by_the_host() -> None:
    why = host_explanation("sandbox", NO_SYSTEMD_ERR, NO_SYSTEMD,
                           systemd_requested=True)
    assert "process_api" in why and "SystemdCgroup" in why


def test_the_same_failure_on_a_systemd_node_is_the_configs() -> None:
    assert host_explanation("sandbox", NO_SYSTEMD_ERR, SYSTEMD_NODE, True) == ""


def test_a_cgroup_path_format_mismatch_is_never_blamed_on_the_host() -> None:
    assert host_explanation("sandbox", FORMAT_ERR, NO_SYSTEMD, True) == ""


def test_a_host_without_systemd_explains_nothing_when_systemd_was_not_asked_for() -> None:
    assert host_explanation("sandbox", NO_SYSTEMD_ERR, NO_SYSTEMD, False) == ""
    assert host_explanation("cri", NO_SYSTEMD_ERR, NO_SYSTEMD, True) == ""


def test_the_cri_plugin_load_error_is_quoted_without_its_timestamp() -> None:
    got = cri_load_error("\n".join([CNI, CRI_LOAD]))
    assert got.startswith("failed to load plugin io.containerd.grpc.v1.cri: invalid plugin")
    assert 'default_runtime_name = "crun"' in got
    assert cri_load_error(CNI) == ""


def test_log_fields_read_quoted_values_with_escapes() -> None:
    f = log_fields('level=info msg="a \\"b\\" c" id=7')
    assert f == {"level": "info", "msg": 'a "b" c', "id": "7"}


def test_an_exit_is_explained_by_the_fatal_line_else_the_last_containerd_line() -> None:
    fatal = 'time="t" level=fatal msg="failed to load config" error="bad"'
    assert exit_error(f"x\n{fatal}\ny") == "failed to load config: bad"
    assert exit_error("noise\ncontainerd: invalid config version\n") == (
        "containerd: invalid config version")
    assert exit_error("") == "containerd exited without an error line"


def test_an_exit_is_never_explained_by_an_info_line() -> None:
    """Issue #19: "Start streaming server" was quoted as why a config was rejected."""
    info = ('time="t" level=info msg="Start streaming server"\n'
            'time="t" level=info msg="containerd successfully booted in 0.287469s"')
    assert exit_error(info) == "containerd exited without an error line"
    error = 'time="t" level=error msg="failed to load cni" error="no network config"'
    assert exit_error(f"{error}\n{info}") == "failed to load cni: no network config"


def test_serving_addresses_are_where_containerd_serves_grpc_not_ttrpc() -> None:
    log = ('time="t" level=info msg=serving... address=/run/dockershim.sock.ttrpc\n'
           'time="t" level=info msg=serving... address=/run/dockershim.sock\n'
           'time="t" level=info msg="containerd successfully booted in 0.2s"')
    assert serving_addresses(log) == ("/run/dockershim.sock",)
    assert booted(log)


def test_a_pull_that_needed_the_network_is_our_trouble_an_invalid_reference_is_not() -> None:
    offline = ('failed to get sandbox image "registry.k8s.io/pause:3.10": failed to pull '
               'image: failed to do request: Head "https://registry.k8s.io/v2/pause/manifests'
               '/3.10": dial tcp: lookup registry.k8s.io: network is unreachable')
    assert "no registry is reachable" in pull_trouble(offline)
    invalid = ('failed to get sandbox image "REPLACE ME": failed to parse image reference '
               '"REPLACE ME": invalid reference format')
    assert pull_trouble(invalid) == ""
