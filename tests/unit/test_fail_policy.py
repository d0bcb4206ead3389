"""`--fail-on` and exit codes: what sets 1, what sets 3, and the mistakes refused."""

from __future__ import annotations

import pytest

from impersonation_cli.errors import EXIT_FOUND, EXIT_OK, EXIT_UNREADABLE, UserError
from impersonation_cli.outputs.files import exit_code
from impersonation_cli.outputs.findings import DEFAULT_FAIL_POLICY, parse_fail_on

from .builders import appearance, scan_result, source

UNAUTHORIZED_ONLY = appearance(verdicts=["unauthorized-likeness"])
SYNTHETIC = appearance("Barack Obama", number=2, verdicts=["unauthorized-likeness", "likely-synthetic"])


def test_by_default_any_registered_person_found_fails() -> None:
    assert parse_fail_on(None) == parse_fail_on([]) == DEFAULT_FAIL_POLICY
    assert exit_code(scan_result([UNAUTHORIZED_ONLY])) == EXIT_FOUND
    assert exit_code(scan_result([])) == EXIT_OK


def test_chosen_verdicts_fail_and_others_pass() -> None:
    policy = parse_fail_on(["synthetic,replay", "concurrent"])
    assert policy.verdicts == {"likely-synthetic", "likely-replay", "concurrent"} and not policy.any_identity
    assert exit_code(scan_result([UNAUTHORIZED_ONLY]), policy) == EXIT_OK
    assert exit_code(scan_result([UNAUTHORIZED_ONLY, SYNTHETIC]), policy) == EXIT_FOUND
    assert parse_fail_on(["likely-synthetic"]).verdicts == {"likely-synthetic"}


def test_none_never_fails_on_findings_but_still_reports_unreadable_inputs() -> None:
    policy = parse_fail_on(["none"])
    assert policy.describe() == "none"
    assert exit_code(scan_result([SYNTHETIC]), policy) == EXIT_OK
    broken = scan_result([SYNTHETIC], [source(), source("broken.mp4", "unreadable")])
    assert exit_code(broken, policy) == EXIT_UNREADABLE


def test_a_finding_outranks_an_unreadable_input() -> None:
    result = scan_result([UNAUTHORIZED_ONLY], [source(), source("broken.mp4", "unreadable")])
    assert exit_code(result) == EXIT_FOUND
    truncated = scan_result([], [source("cut.mp4", "truncated", error="cut.mp4: decoding stopped at 4.0 s")])
    assert exit_code(truncated) == EXIT_UNREADABLE


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["synthtic"], "unknown choice 'synthtic'"),
        (["none,replay"], "'none' cannot be combined"),
        # Empty values read as the default, `any`: `--fail-on "$UNSET"` failed a pipeline on any registered person.
        ([""], "an empty choice in ''; choose from"),
        (["replay", " "], "an empty choice in ' '"),
        (["synthetic,,replay"], "an empty choice in 'synthetic,,replay'"),
    ],
)
def test_mistakes_are_refused_in_one_line(values: list[str], message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_fail_on(values)
