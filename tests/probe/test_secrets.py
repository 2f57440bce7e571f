"""A registry credential planted in a variant appears in no file a run leaves behind.

Only containerd and kind get the real file (0600, removed after use); plans, kept logs,
artifacts and results carry ``<redacted>``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w

from calico_conformance.datafile import parse_toml
from calico_conformance.probe import probe_available
from calico_conformance.redact import REDACTED, private_file, redact_config, redact_text

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}
SECRETS = ("hunter2-PASSWORD-x", "dXNlcjpodW50ZXIy-AUTH", "eyJ-IDENTITYTOKEN")
AUTH = (f'[plugins."io.containerd.grpc.v1.cri".registry.configs."registry.invalid".auth]\n'
        f'  username = "robot"\n  password = "{SECRETS[0]}"\n  auth = "{SECRETS[1]}"\n'
        f'  identitytoken = "{SECRETS[2]}"\n')
REG = '[plugins."io.containerd.grpc.v1.cri".registry'
# The same credentials in every other spelling TOML and containerd allow (issue 22):
# (name, TOML text, the secret as it must never appear).
SPELLINGS = (
    ("an Authorization header",
     f'{REG}.headers]\n  Authorization = ["Basic c2VjcmV0LWhlYWRlcg=="]\n',
     "c2VjcmV0LWhlYWRlcg=="),
    ("a dotted key", f'{REG}.configs."dotted.invalid"]\n  auth.password = "secret-dotted"\n',
     "secret-dotted"),
    ("an escaped key", f'{REG}.configs."escaped.invalid".auth]\n'
                       f'  "pass\\u0077ord" = "secret-escaped"\n', "secret-escaped"),
    ("a multi-line basic string", f'{REG}.configs."ml.invalid".auth]\n'
                                  f'  password = """\nsecret-multiline"""\n', "secret-multiline"),
    ("a multi-line literal string", f'{REG}.configs."lit.invalid".auth]\n'
                                    "  identitytoken = '''secret-literal'''\n", "secret-literal"),
    ("a bearer token under any key", f'{REG}.configs."any.invalid"]\n'
                                     f'  note = "Bearer secret-bearer-token"\n',
     "secret-bearer-token"),
    ("a URL's userinfo", f'{REG}.mirrors."docker.io"]\n'
                         f'  endpoint = ["https://robot:secret-userinfo@mirror.invalid"]\n',
     "secret-userinfo"),
)
ALL_SECRETS = SECRETS + tuple(secret for _, _, secret in SPELLINGS)


def secret_variant(tmp: Path) -> Path:
    path = tmp / "vars" / "with-secret.toml"
    path.parent.mkdir()
    path.write_text("version = 2\n\n" + AUTH + "".join(text for _, text, _ in SPELLINGS))
    return path


def leaks(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path}: {s}" for s in ALL_SECRETS if s.encode() in data]
    return found


def pytest_in(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=root, env=ENV, capture_output=True, text=True, timeout=600,
                          check=False)


def test_redacted_configs_stay_valid_toml_and_keep_the_username() -> None:
    text = redact_config("version = 2\n" + AUTH + 'x = { password = "p", a = 1 }\n')
    data = parse_toml(text)
    auth = data["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["configs"][
        "registry.invalid"]["auth"]
    assert {k: auth[k] for k in ("username", "password", "auth", "identitytoken")} == {
        "username": "robot", "password": REDACTED, "auth": REDACTED, "identitytoken": REDACTED}
    assert auth["x"] == {"password": REDACTED, "a": 1}
    assert not any(s in text for s in SECRETS)
    assert tomli_w.dumps(data)


@pytest.mark.parametrize(("spelling", "text", "secret"), SPELLINGS,
                         ids=[name for name, _, _ in SPELLINGS])
def test_a_secret_in_any_spelling_is_redacted_and_the_config_stays_valid(
        spelling: str, text: str, secret: str) -> None:
    redacted = redact_config("version = 2\n" + text)
    assert secret not in redacted and REDACTED in redacted, spelling
    parse_toml(redacted)


def test_a_secret_in_a_comment_or_a_file_that_is_not_toml_is_redacted() -> None:
    assert "s3cr3t" not in redact_config('# password = "s3cr3t"\nx = 1\n')
    assert "s3cr3t" not in redact_config('password = "s3cr3t"\n[[[ not toml')


def test_containerds_own_log_of_its_config_is_redacted() -> None:
    line = (f"Start cri plugin with config {{Registry:{{Configs:map[r:{{Auth:&AuthConfig{{"
            f"Username:robot,Password:{SECRETS[0]},Auth:{SECRETS[1]},IdentityToken:"
            f'{SECRETS[2]},}}}}]}}}} "password":"{SECRETS[0]}"')
    out = redact_text(line)
    assert not any(s in out for s in SECRETS) and "Username:robot" in out
    assert redact_text('password = "x"') == f'password = "{REDACTED}"'  # still TOML


def test_the_file_for_containerd_or_kind_is_0600_and_gone_after_use(tmp_path: Path) -> None:
    path = tmp_path / "run" / ".kind-config.private.yaml"
    with private_file(path, AUTH) as p:
        assert p.stat().st_mode & 0o777 == 0o600 and SECRETS[0] in p.read_text()
    assert not path.exists()


def _project(tmp: Path) -> Path:
    root = tmp / "proj"
    for name in ("clusters", "suites"):
        shutil.copytree(REPO / name, root / name)
    (root / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    return root


def test_a_planted_secret_appears_nowhere_in_a_plan_run_folder(tmp_path: Path) -> None:
    root = _project(tmp_path)
    proc = pytest_in(root, "--plan", f"--variant={secret_variant(tmp_path)}",
                     "--run-id", "plan-secret", "--profile", "smoke")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = root / "reports" / "plan-secret"
    assert any(REDACTED in p.read_text() for p in run.rglob("containerd-config.toml"))
    assert leaks(root / "reports") == []


@pytest.mark.realcontainerd
def test_a_planted_secret_appears_nowhere_in_a_probe_run_folder(tmp_path: Path) -> None:
    reason = probe_available()
    if reason:
        pytest.skip(f"real containerd probe unavailable: {reason}")
    root = _project(tmp_path)
    proc = pytest_in(root, "--tier", "probe", f"--variant={secret_variant(tmp_path)}",
                     "--variant-as-patch", "-k", "with-secret", "--probe-window", "2s",
                     "--run-id", "probe-secret")
    out = proc.stdout + proc.stderr
    assert "1 passed" in out or "1 failed" in out or "xfail" in out, out
    run = root / "reports" / "probe-secret"
    assert (run / "cells").is_dir() and list((run / "cells").iterdir()), out
    assert leaks(run) == []
    for kept in run.rglob("config.toml"):  # evidence stays a valid config
        assert f'password = "{REDACTED}"' in kept.read_text()
        parse_toml(kept.read_text())
