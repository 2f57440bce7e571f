"""Durations from options and data: only finite, positive ones, or a one-line InputError."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from calico_conformance.clock import FakeClock, parse_duration
from calico_conformance.errors import InputError

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("text", "seconds"), [
    ("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("1h30m", 5400.0), ("250ms", 0.25),
    ("1.5m", 90.0), (" 3S ", 3.0), (".5s", 0.5),
])
def test_plain_numbers_and_unit_terms_add_up_to_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["1.2.3s", "1.2.3", "5x", "m", "1e3", "nan", "NaN", "inf",
                                  "-inf", "-5", "-1m", "0", "0s", "0.0", "0h0m", "", "  ",
                                  "1h30", "9" * 400])
def test_a_bad_duration_is_a_one_line_input_error_naming_the_option(text: str) -> None:
    with pytest.raises(InputError) as info:
        parse_duration(text, option="--soak")
    message = str(info.value)
    assert message.startswith("--soak: ") and "\n" not in message


def test_zero_and_negative_durations_are_refused_as_not_greater_than_zero() -> None:
    for text in ("0", "-5", "0m"):
        with pytest.raises(InputError, match="greater than zero"):
            parse_duration(text, option="--soak")


def test_a_trailing_number_without_a_unit_is_named_in_the_message() -> None:
    with pytest.raises(InputError, match="lacks a unit after '30'"):
        parse_duration("1h30", option="--ready-grace")


def test_every_accepted_duration_lets_a_soak_loop_end() -> None:
    """The bug nan caused: `elapsed < nan` is never false, so the loop never ended."""
    clock = FakeClock()
    soak = parse_duration("2m")
    steps = 0
    while clock.monotonic() < soak:
        clock.sleep(15)
        steps += 1
        assert steps < 1000
    assert steps == 8


@pytest.mark.parametrize("value", ["1.2.3s", "nan", "-5", "0"])
def test_a_bad_soak_option_is_a_pytest_usage_error_not_an_internal_error(
        pytester: pytest.Pytester, value: str) -> None:
    shutil.copytree(REPO / "clusters", pytester.path / "clusters")
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess(f"--soak={value}", "-p", "no:cacheprovider")
    err = result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, err
    assert "INTERNALERROR" not in err and "Traceback" not in err
    assert "--soak: " in err
