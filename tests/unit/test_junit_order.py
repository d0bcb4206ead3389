"""A JUnit test case's children come in the schema's order (Ant/Surefire: failure or error, then system-out,
then system-err); a system-out first is refused by readers that validate against it."""

from __future__ import annotations

from impersonation_cli.outputs.findings import parse_fail_on
from impersonation_cli.outputs.junit import build_junit
from impersonation_cli.results import Verdict

from .builders import appearance, scan_result, source


def children(status: str, verdicts: list[str]) -> list[str]:
    seen = appearance(verdicts=verdicts)
    result = scan_result([seen], [source(status=status, error=None if status == "ok" else "ended early")])
    case = build_junit(result, parse_fail_on(["unauthorized"])).getroot().find(".//testcase")
    assert case is not None
    return [child.tag for child in case]


def test_failure_and_error_come_before_the_output() -> None:
    assert children("ok", [Verdict.UNAUTHORIZED]) == ["failure", "system-out"]
    assert children("truncated", [Verdict.UNAUTHORIZED]) == ["failure", "system-out", "system-err"]
    assert children("truncated", [Verdict.AUTHORIZED]) == ["error", "system-out"]
    assert children("ok", [Verdict.AUTHORIZED]) == ["system-out"]
