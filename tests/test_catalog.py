"""clusters/ data is type-checked where it is read: a bad value is one InputError naming
the file and the key, never a crash later (unhashable, AttributeError, a nan soak...)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from calico_conformance.catalog import Catalog
from calico_conformance.cells import Variant
from calico_conformance.errors import InputError
from calico_conformance.model import Verdict
from calico_conformance.variants import KIND_VERDICTS, NODE_VERDICTS, PROBE_VERDICTS, load_variant

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def clusters(tmp_path: Path) -> Path:
    """A private copy of the shipped clusters/ to break one value at a time."""
    root = tmp_path / "clusters"
    shutil.copytree(REPO / "clusters", root)
    return root


def edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
    return path


def sidecar(clusters: Path, meta: str, name: str = "probe") -> Path:
    (clusters / "containerd" / f"{name}.toml").write_text("version = 2\n")
    path = clusters / "containerd" / f"{name}.meta.toml"
    path.write_text(meta)
    return path


def add_profile(clusters: Path, lines: str) -> Path:
    """Append ``[profiles.bad]``: one valid cell unless ``lines`` override a key."""
    table = {"calico": '["v3.28.2"]', "variants": '["baseline"]', "points": '["k8s1.28"]'}
    table.update(line.split(" = ", 1) for line in lines.splitlines())  # type: ignore[misc]
    path = clusters / "matrix.toml"
    with path.open("a") as fh:
        fh.write("\n[profiles.bad]\n" + "".join(f"{k} = {v}\n" for k, v in table.items()))
    return path


def one_line_error(info: pytest.ExceptionInfo[InputError], path: Path, *words: str) -> str:
    err = info.value
    assert err.path == str(path)
    message = str(err)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


def test_the_shipped_catalog_loads_and_every_profile_builds(clusters: Path) -> None:
    catalog = Catalog(clusters)
    assert catalog.calico and catalog.kind and catalog.variants
    for name in ("smoke", "default", "release"):
        assert catalog.profile(name).cells


def test_the_two_tiers_verdict_sets_come_from_verdict_and_cover_all_but_unknown() -> None:
    values = {v.value for v in Verdict}
    assert values - {Verdict.UNKNOWN.value} == KIND_VERDICTS | PROBE_VERDICTS | NODE_VERDICTS
    assert {"restarts", "misplaced"} == NODE_VERDICTS - PROBE_VERDICTS
    assert {Verdict.STABLE.value} == KIND_VERDICTS & PROBE_VERDICTS
    assert "config-rejected" not in KIND_VERDICTS and "restarts" not in PROBE_VERDICTS


def test_variant_has_no_unused_expected_subtype_field() -> None:
    assert "expected_subtype" not in {f.name for f in dataclasses.fields(Variant)}


@pytest.mark.parametrize(("meta", "words"), [
    ('expected = ["x"]\n', ("'expected'", "must be a string")),
    ('expected = "restart"\n', ("expected = 'restart'", "restarts")),
    ('expected = "config-rejected"\n', ("expected = 'config-rejected'",)),
    ('expected_probe = "restarts"\n', ("expected_probe = 'restarts'", "sandbox-fails")),
    ('expected_by_calico = "x"\n', ("'expected_by_calico'", "must be a table")),
    ('[expected_by_calico]\n"v3.28.2" = "restart"\n', ("v3.28.2 = 'restart'",)),
    ('[expected_by_calico]\n"v3.28.2" = "cri-unavailable"\n', ("'cri-unavailable'",)),
    ('[expected_by_calico]\n"v3.28.2" = ""\n', ("v3.28.2 = ''",)),
    ('[expected_by_calico]\n"v3.28.2" = 1\n', ("'v3.28.2'", "must be a string")),
    ('kubelet = "x"\n', ("'kubelet'", "must be a table")),
    ('[kubelet]\ncgroupDriver = "sysd"\n', ("cgroupDriver = 'sysd'", "cgroupfs, systemd")),
    ('json6902 = ["x"]\n', ("'json6902'", "array of tables")),
    ('json6902 = [{ path = "/a" }]\n', ("'json6902'", "op (add|")),
    ('json6902 = [{ op = "rename", path = "/a" }]\n', ("'json6902'",)),
    ('references = "https://example.com"\n', ("'references'", "list of strings")),
    ('description = 3\n', ("'description'",)),
    ('expected_subtype = "exit-0"\n', ("unknown key 'expected_subtype'",)),
])
def test_a_bad_sidecar_value_is_an_input_error_naming_the_sidecar_and_key(
        clusters: Path, meta: str, words: tuple[str, ...]) -> None:
    path = sidecar(clusters, meta)
    with pytest.raises(InputError) as info:
        Catalog(clusters).variants  # noqa: B018 - loading is the point
    one_line_error(info, path, *words)


def test_each_tier_accepts_its_own_verdicts_in_a_sidecar(clusters: Path) -> None:
    sidecar(clusters, 'expected = "never-ready"\nexpected_probe = "container-exits"\n'
                      '[expected_by_calico]\n"v3.26.4" = "flapping"\n'
                      '[kubelet]\ncgroupDriver = "cgroupfs"\n'
                      '[[json6902]]\nop = "remove"\npath = "/plugins/x"\n')
    variant = Catalog(clusters).variants["probe"]
    assert (variant.expected, variant.expected_probe) == ("never-ready", "container-exits")
    assert variant.expected_for("v3.26.4") == "flapping"
    assert variant.expected_for("v3.28.2") == "never-ready"


def test_an_expectation_for_an_unknown_calico_version_is_refused_by_the_profile(
        clusters: Path) -> None:
    path = sidecar(clusters, '[expected_by_calico]\n"3.28.2" = "restarts"\n', name="baseline")
    with pytest.raises(InputError) as info:
        Catalog(clusters).profile("smoke")
    one_line_error(info, path, "unknown Calico version '3.28.2'", "v3.28.2")


def test_a_sidecar_without_its_variant_file_is_refused(clusters: Path) -> None:
    path = clusters / "containerd" / "orphan.meta.toml"
    path.write_text('expected = "stable"\n')
    with pytest.raises(InputError) as info:
        Catalog(clusters).variants  # noqa: B018
    one_line_error(info, path, "without a variant file")


def test_an_extra_variant_gets_the_same_checks(tmp_path: Path) -> None:
    variant = tmp_path / "mine.toml"
    variant.write_text("version = 2\n")
    meta = tmp_path / "mine.meta.toml"
    meta.write_text('expected = "crashloop"\n')
    with pytest.raises(InputError) as info:
        load_variant(variant)
    one_line_error(info, meta, "expected = 'crashloop'")


@pytest.mark.parametrize(("lines", "words"), [
    ('workers = "x"', ("'workers'", "whole number >= 0")),
    ("workers = -1", ("'workers'",)),
    ("workers = true", ("'workers'",)),
    ("calico = 5", ("'calico'", "glob string or a non-empty list")),
    ("variants = [1]", ("'variants'",)),
    ("points = []", ("'points'",)),
    ('pod_subnet = "banana"', ("'pod_subnet' = 'banana'", "not a network")),
    ('pod_subnet = "192.168.1.0/16"', ("'pod_subnet'", "host bits")),
    ("pod_subnet = 16", ("'pod_subnet'", "must be a string")),
    ('soak = "nan"', ("profile bad: 'soak'", "cannot read duration")),
    ("soak = 0", ("profile bad: 'soak'", "greater than zero")),
    ("soak = true", ("'soak'",)),
    ('descripton = "typo"', ("unknown key 'descripton'",)),
])
def test_a_bad_profile_value_is_an_input_error_naming_matrix_toml_and_key(
        clusters: Path, lines: str, words: tuple[str, ...]) -> None:
    path = add_profile(clusters, lines)
    with pytest.raises(InputError) as info:
        Catalog(clusters).profile("smoke")  # another profile: still checked
    one_line_error(info, path, "profile bad", *words)


def test_a_bad_default_is_named_as_the_defaults_table(clusters: Path) -> None:
    path = edit(clusters / "matrix.toml", "workers = 1", 'workers = "one"')
    with pytest.raises(InputError) as info:
        Catalog(clusters).profile("smoke")
    one_line_error(info, path, "[defaults]", "'workers'")


def test_workers_zero_and_an_ipv6_subnet_are_valid(clusters: Path) -> None:
    add_profile(clusters, 'workers = 0\npod_subnet = "fd00:10:244::/56"\nsoak = 90')
    profile = Catalog(clusters).profile("bad")
    cell = profile.cells[0]
    assert (cell.workers, cell.pod_subnet, cell.soak_s) == (0, "fd00:10:244::/56", 90.0)


def test_a_duplicate_point_id_is_refused(clusters: Path) -> None:
    path = edit(clusters / "matrix.toml", 'id = "k8s1.30"', 'id = "k8s1.28"')
    with pytest.raises(InputError) as info:
        Catalog(clusters).profile("smoke")
    one_line_error(info, path, "point 'k8s1.28' is declared twice")


@pytest.mark.parametrize("value", ["[]", '["1.27"]', '["1.27", "1.28", "1.30"]',
                                   '["1.30", "1.27"]', '["1.27", "v1.30"]', '"1.27-1.30"'])
def test_kubernetes_tested_must_be_two_minors_lowest_first(clusters: Path, value: str) -> None:
    path = edit(clusters / "calico" / "versions.toml", 'kubernetes_tested = ["1.27", "1.30"]',
                f"kubernetes_tested = {value}")
    with pytest.raises(InputError) as info:
        Catalog(clusters).calico  # noqa: B018
    one_line_error(info, path, "'kubernetes_tested'", '"X.Y"')


@pytest.mark.parametrize(("old", "new", "words"), [
    ('sha256 = "be59408b', 'sha256 = "XX59408b', ("'sha256'",)),
    ('images = ["docker.io/calico/cni:v3.26.4"', 'images = [1', ("'images'",)),
    ('version = "v3.26.4"', 'version = "3.26.4"', ("'version'", "v3.28.2")),
    ('note = "Latest v3.26 patch."', "note = 1", ("'note'",)),
])
def test_a_bad_calico_entry_value_names_versions_toml_and_key(
        clusters: Path, old: str, new: str, words: tuple[str, ...]) -> None:
    path = edit(clusters / "calico" / "versions.toml", old, new)
    with pytest.raises(InputError) as info:
        Catalog(clusters).calico  # noqa: B018
    one_line_error(info, path, *words)


@pytest.mark.parametrize(("old", "new", "words"), [
    ('kubelet_cgroup_driver = "systemd"', 'kubelet_cgroup_driver = "sysd"',
     ("kubelet_cgroup_driver = 'sysd'", "cgroupfs, systemd")),
    ('containerd = "1.7.18"', 'containerd = 1.7', ("'containerd'",)),
    ('containerd = "1.7.18"', 'containerd = "latest"', ("'containerd'", "1.7.18")),
    ('shims = ["io.containerd.runc.v2"]', "shims = []", ("'shims'",)),
    ('shims = ["io.containerd.runc.v2"]', 'shims = "runc"', ("'shims'",)),
    ('"1.31" = "kindest', '"latest" = "kindest', ("'images'",)),
    ('base_config = "v0.24.0/', 'base_config = "nowhere/', ("base_config",)),
])
def test_a_bad_kind_release_value_names_releases_toml_and_key(
        clusters: Path, old: str, new: str, words: tuple[str, ...]) -> None:
    path = edit(clusters / "kind" / "releases.toml", old, new)
    with pytest.raises(InputError) as info:
        Catalog(clusters).kind  # noqa: B018
    one_line_error(info, path, *words)


def test_a_bad_variant_passed_to_pytest_is_a_usage_error_not_an_internal_error(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    shutil.copytree(REPO / "clusters", pytester.path / "clusters")
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    variant = tmp_path / "mine.toml"
    variant.write_text("version = 2\n")
    (tmp_path / "mine.meta.toml").write_text('expected = ["restarts"]\n')
    result = pytester.runpytest_subprocess("--variant", str(variant), "-p", "no:cacheprovider")
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, err
    assert "INTERNALERROR" not in err and "mine.meta.toml: sidecar: 'expected'" in err
