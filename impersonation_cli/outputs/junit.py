"""JUnit XML for CI: one test case per source; an appearance the fail policy selects is a failure, a
source that could not be read (wholly or in part) an error. ElementTree escapes markup; characters XML 1.0
cannot hold at all (most control characters, which a file name may contain) are replaced first, and so are the bidi
embeddings, overrides and isolates, which XML holds but which reorder the text after them wherever a CI page shows
it ('x\\u202egpj.exe' reads 'xexe.jpg'), as in the HTML report and the drafts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from impersonation_cli.errors import BIDI
from impersonation_cli.outputs.findings import DEFAULT_FAIL_POLICY, FailPolicy, own_verdicts, source_reasons
from impersonation_cli.outputs.table import clock
from impersonation_cli.results import Appearance, ScanResult, SourceResult

NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
RECORDINGS = "recordings"  # the class name of sources scanned without a room


def xml_text(value: object) -> str:
    return BIDI.sub("\ufffd", NOT_XML.sub("\ufffd", str(value)))


def build_junit(result: ScanResult, policy: FailPolicy = DEFAULT_FAIL_POLICY) -> ET.ElementTree[ET.Element]:
    suite = ET.Element("testsuite", name="impersonation-cli scan")
    properties = ET.SubElement(suite, "properties")
    for name in ("pack", "detector", "recognizer", "provider"):
        ET.SubElement(properties, "property", name=name, value=xml_text(result.settings.get(name, "")))
    ET.SubElement(properties, "property", name="fail-on", value=policy.describe())
    counts = {"failures": 0, "errors": 0}
    for source in result.sources:
        appearances = result.appearances_of(source)
        outcome = _testcase(suite, source, appearances, policy)
        if outcome:
            counts[outcome] += 1
    suite.set("tests", str(len(result.sources)))
    suite.set("failures", str(counts["failures"]))
    suite.set("errors", str(counts["errors"]))
    suite.set("skipped", "0")
    suite.set("time", f"{result.run.elapsed_s:.3f}")
    suite.set("timestamp", xml_text(result.run.started_at))
    root = ET.Element("testsuites", name="impersonation-cli")
    for key in ("tests", "failures", "errors", "time"):
        root.set(key, suite.get(key, ""))
    root.append(suite)
    return ET.ElementTree(root)


def junit_document(result: ScanResult, policy: FailPolicy = DEFAULT_FAIL_POLICY) -> bytes:
    tree = build_junit(result, policy)
    ET.indent(tree)
    return ET.tostring(tree.getroot(), encoding="utf-8", xml_declaration=True)


def _testcase(suite: ET.Element, source: SourceResult, appearances: list[Appearance], policy: FailPolicy) -> str:
    """Adds the source's test case; returns 'failures', 'errors' or '' (passed). Its children come in the
    schema's order (failure or error, then system-out, then system-err): readers that validate against the
    Ant/Surefire schema refused a system-out before the failure."""
    case = ET.SubElement(suite, "testcase", classname=xml_text(source.room or RECORDINGS), name=xml_text(source.source))
    failing = [a for a in appearances if policy.matches(a)]
    own = [v for v in own_verdicts(source, appearances) if v in policy.verdicts]
    outcome = ""
    if failing or own:
        verdicts = sorted({v for a in failing for v in a.verdicts} | set(own))
        people = sorted({a.identity for a in failing}, key=str.casefold) or [source.source]
        failure = ET.SubElement(
            case,
            "failure",
            message=xml_text(f"{', '.join(people)}: {', '.join(verdicts)}"),
            type=xml_text(",".join(verdicts)),
        )
        lines = [f"{_appearance_line(a)}\n  " + "\n  ".join(a.reasons) for a in failing]
        lines += [f"the stream itself: {', '.join(own)}\n  " + "\n  ".join(source_reasons(source, own))] if own else []
        failure.text = xml_text("\n".join(lines))
        outcome = "failures"
    elif source.status != "ok":
        ET.SubElement(case, "error", message=xml_text(source.error or source.status), type=xml_text(source.status))
        outcome = "errors"
    if appearances:
        ET.SubElement(case, "system-out").text = xml_text("\n".join(_appearance_line(a) for a in appearances))
    if outcome == "failures" and source.status != "ok":
        ET.SubElement(case, "system-err").text = xml_text(f"{source.status}: {source.error or ''}")
    return outcome


def _appearance_line(appearance: Appearance) -> str:
    return (
        f"{appearance.identity} {clock(appearance.start_s)}-{clock(appearance.end_s)} "
        f"similarity {appearance.median_similarity:.2f} risk {appearance.risk:.2f}: {', '.join(appearance.verdicts)}"
    )
