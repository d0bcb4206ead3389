"""The versioned result document: written, read back unchanged, and refused when it is not one."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from impersonation_cli.errors import UserError, is_device
from impersonation_cli.results import (
    SCAN_SCHEMA,
    SCAN_SCHEMA_VERSION,
    ResultFormatError,
    RunInfo,
    ScanResult,
    appearance_event,
    json_line,
)
from impersonation_cli.runtime.host import this_host

from .builders import appearance, scan_result, source, with_signals_and_evidence


def _result() -> ScanResult:
    found = with_signals_and_evidence(appearance(room="douyin:1", start_wallclock="2026-11-20T20:00:02.5+08:00"))
    return scan_result([found], [source(room="douyin:1"), source("broken.mp4", "unreadable")])


def test_the_document_names_its_format_first_and_reads_back_equal() -> None:
    result = _result()
    document = json.loads(result.to_json())
    assert list(document)[:2] == ["schema", "schema_version"]
    assert (document["schema"], document["schema_version"]) == (SCAN_SCHEMA, SCAN_SCHEMA_VERSION)
    assert ScanResult.from_dict(document) == result


def test_names_in_any_script_are_written_as_they_are() -> None:
    text = scan_result([appearance("周杰伦")]).to_json()
    assert "周杰伦" in text and "\\u" not in text


def test_an_appearance_line_is_readable_on_its_own() -> None:
    event = appearance_event(_result().appearances[0])
    assert event["schema"] == "impersonation-cli/appearance" and event["identity"] == "Eileen Collins"
    assert event["signals"]["replay"]["details"]["offset_s"] == 12.0 and event["evidence"]["sha256"] == "ab" * 32


def test_a_newer_major_version_or_another_schema_is_refused() -> None:
    document = _result().to_dict()
    with pytest.raises(ValueError, match="not readable by this version"):
        ScanResult.from_dict({**document, "schema_version": "2.0"})
    with pytest.raises(ValueError, match="not an impersonation-cli scan result"):
        ScanResult.from_dict({**document, "schema": "something/else"})
    newer = ScanResult.from_dict({**document, "schema_version": "1.99", "a_field_of_1_99": 1})
    assert newer.appearances == _result().appearances
    # Read into this version's fields, it is this version's document: written again as 1.99 it would lack 1.99's.
    assert newer.schema_version == SCAN_SCHEMA_VERSION


def test_the_scan_version_decides_not_the_appearance_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """from_dict compared the scan document's major version with the appearance events' (both 1 so far): an
    appearance schema 2.0 would have refused every scan result, and a scan result 2.0 would have been read."""
    document = _result().to_dict()
    monkeypatch.setattr("impersonation_cli.results.SCHEMA_VERSION", "2.0")
    assert ScanResult.from_dict(document).appearances == _result().appearances
    with pytest.raises(ResultFormatError, match=r"schema 2\.0 is not readable by this version \(reads 1\.x\)"):
        ScanResult.from_dict({**document, "schema_version": "2.0"})
    with pytest.raises(ResultFormatError, match=r"schema 1{20}\.\.\. is not readable"):
        ScanResult.from_dict({**document, "schema_version": "1" * 5000})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "a JSON object is expected"),
        ('{"schema": "impersonation-cli/scan", "schema_version": "1.1"}', "settings is missing: not a complete"),
    ],
)
def test_a_file_that_is_not_a_result_is_one_line_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "result.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        ScanResult.load(path)


def test_a_wrongly_typed_field_is_named(tmp_path: Path) -> None:
    document = _result().to_dict()
    document["appearances"][0]["median_similarity"] = "high"
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(UserError, match=r"appearances\.0\.median_similarity should be a number, not str"):
        ScanResult.load(path)
    with pytest.raises(UserError, match="no such result file"):
        ScanResult.load(tmp_path / "missing.json")


def test_from_dict_checks_types_while_it_builds_and_accepts_text_details(tmp_path: Path) -> None:
    """One walker over the type hints builds and checks: a replay signal's text details (the footage's person
    and file) are `float | str` values and load, and from_dict names a wrongly typed value itself."""
    document = _result().to_dict()
    details = document["appearances"][0]["signals"]["replay"]["details"]
    details.update({"footage_person": "Eileen Collins", "footage_video": "launch.mp4"})
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert ScanResult.load(path).appearances[0].signals["replay"].details["footage_video"] == "launch.mp4"
    document["sources"][1]["frames_sampled"] = 2.5
    with pytest.raises(ValueError, match=r"sources\.1\.frames_sampled should be int, not float 2\.5"):
        ScanResult.from_dict(document)


def test_load_takes_a_str_path_and_every_refusal_is_one_documented_error(tmp_path: Path) -> None:
    # A notebook's first call: ScanResult.load("result.json") raised AttributeError on a str.
    path = tmp_path / "result.json"
    path.write_text(_result().to_json(), encoding="utf-8")
    assert ScanResult.load(str(path)) == ScanResult.load(path)
    document = _result().to_dict()
    del document["appearances"][0]["identity"]
    for refused in ([1, 2], {}, document):  # a list was AttributeError, a missing field TypeError
        with pytest.raises(ResultFormatError) as caught:
            ScanResult.from_dict(refused)
        assert isinstance(caught.value, UserError) and "\n" not in str(caught.value)
    with pytest.raises(ResultFormatError, match=r"appearances\.0\.identity is missing"):
        ScanResult.from_dict(document)


def test_numbers_no_float_holds_are_refused_in_one_line(tmp_path: Path) -> None:
    """An integer too large for a float where a time or score belongs (OverflowError), and one of more digits
    than Python converts (ValueError while parsing), were internal errors (exit 4), not refusals."""
    document = _result().to_dict()
    document["appearances"][0]["start_s"] = 10**400
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ResultFormatError, match=r"appearances\.0\.start_s should be a number, not int 1000"):
        ScanResult.load(path)
    path.write_text(_result().to_json().replace('"risk": 0.5', '"risk": 1' + "0" * 5000, 1), encoding="utf-8")
    with pytest.raises(ResultFormatError, match=r"result\.json: not JSON: .*digits"):
        ScanResult.load(path)


def test_a_device_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """`report /dev/zero` read for ever, filling memory (no size to stop at); a device is refused unread.
    (Asserted on /dev/null, which ends, so that the test itself cannot hang where the check is missing.)"""
    assert is_device(Path("/dev/zero")) and is_device(Path("/dev/null"))
    with pytest.raises(UserError, match=r"^/dev/null: a device, not a result file$"):
        ScanResult.load("/dev/null")
    assert not is_device(tmp_path) and not is_device(tmp_path / "missing.json")  # a pipe or file is still read


def test_a_folder_is_named_as_one(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r": a folder, not a result file$"):  # was "[Errno 21] Is a directory: ..."
        ScanResult.load(tmp_path)


def test_a_result_saved_with_a_byte_order_mark_reads(tmp_path: Path) -> None:
    """A result opened and saved in a Windows editor gained a BOM: 'not JSON: Unexpected UTF-8 BOM'."""
    path = tmp_path / "result.json"
    path.write_bytes(b"\xef\xbb\xbf" + _result().to_json().encode("utf-8"))
    assert ScanResult.load(path) == _result()


def test_an_appearance_of_a_source_not_listed_is_refused(tmp_path: Path) -> None:
    """A hand edit left an appearance whose source was none of the sources: `report` counted it flagged and exited
    1, but wrote no takedown notice and no JUnit test case for it."""
    document = scan_result([appearance(source="a.mp4")], [source("b.mp4")]).to_dict()
    path = tmp_path / "result.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(ResultFormatError, match=r"appearances\.0\.source 'a\.mp4' is none of the sources"):
        ScanResult.load(path)


def test_run_record_rounds_as_written_and_a_live_watch_has_no_realtime_factor() -> None:
    started = datetime.datetime(2026, 12, 5, 6, 30, 1, 987654, tzinfo=datetime.UTC)
    scanned = RunInfo.measured(started, elapsed_s=2.00049, video_seconds=30.0004, live=False)
    assert scanned == RunInfo("2026-12-05T06:30:01+00:00", 2.0, 30.0, 15.0, this_host())
    assert RunInfo.measured(started, 2.0, 30.0, live=True).realtime_factor is None
    assert RunInfo.measured(started, 2.0, 0.0, live=False).realtime_factor is None  # images only


@pytest.mark.parametrize("lines", [1, 2], ids=["one-line", "two-lines"])
@pytest.mark.parametrize(
    ("schema", "said"),
    [
        ("impersonation-cli/appearance", "holds appearance lines \\(scan --jsonl\\), not a scan result"),
        ("impersonation-cli/alert", "holds alert lines \\(watch --alerts\\), not a scan result"),
    ],
)
def test_the_json_lines_written_beside_a_result_are_named_for_what_they_are(
    tmp_path: Path, schema: str, said: str, lines: int
) -> None:
    """`report appearances.jsonl` (the --jsonl given for the --json beside it) said 'not JSON: Extra data: line 2
    column 1 (char 2872)' of a file the tool wrote itself, and with one appearance 'not an impersonation-cli scan
    result (schema 'impersonation-cli/appearance')'; it says which file it is and which one to give."""
    line = {**appearance_event(appearance()), "schema": schema}
    path = tmp_path / "appearances.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for _ in range(lines)), encoding="utf-8")
    with pytest.raises(
        ResultFormatError, match=f"^{path}: {said}: give the file `scan --json` or `watch --json` wrote$"
    ):
        ScanResult.load(path)


def test_other_text_that_is_not_json_is_still_said_so(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text('{"schema": "impersonation-cli/appearance"}\n{not json', encoding="utf-8")
    with pytest.raises(ResultFormatError, match="holds appearance lines"):
        ScanResult.load(path)  # its first line tells what it is
    path.write_text("<testsuites/>\n", encoding="utf-8")
    with pytest.raises(ResultFormatError, match="not JSON: Expecting value"):
        ScanResult.load(path)
    with pytest.raises(TypeError, match="path must be a path"):
        ScanResult.load(b"result.json")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(status="maybe"), r"^status should be one of complete, interrupted, not str 'maybe'$"),
        (lambda d: d["sources"][0].update(status="weird"), r"^sources\.0\.status should be one of ok, truncated, "),
        (lambda d: d["settings"].update(fps="two"), r"^settings\.fps should be a number, not str 'two'$"),
        (lambda d: d["settings"].update(fps=None), r"^settings\.fps should be a number, not NoneType None$"),
        (lambda d: d["settings"].update(gallery_identities="x"), r"^settings\.gallery_identities should be int"),
        (
            lambda d: d["settings"].update(config={"match": {"threshold": [1, 2]}}),
            r"^settings\.config\.match\.threshold should be a number, not list",
        ),
    ],
)
def test_statuses_and_reported_settings_are_checked_as_the_fields_are(edit, message: str) -> None:
    """A hand-edited `status` "maybe" or `settings.fps` "two" was read, and the report showed 'frames sampled per
    second: two' and 'threshold x' (exit 1 and every document written) where a wrong type is a one-line error."""
    document = _result().to_dict()
    document["settings"].update(fps=2.0, gallery_identities=3, config={"match": {"threshold": 0.4}})
    assert ScanResult.from_dict(json.loads(json.dumps(document))).settings["fps"] == 2.0
    edit(document)
    with pytest.raises(ResultFormatError, match=message):
        ScanResult.from_dict(document)


def test_the_document_is_plain_data_any_strict_serializer_takes() -> None:
    """`to_dict()` held each verdict as its Verdict member (a str only by subclass): yaml.safe_dump of a result,
    as a service hands it to YAML or BSON, refused it ('cannot represent an object')."""
    import yaml

    from impersonation_cli.results import Verdict

    result = ScanResult.from_dict(_result().to_dict())
    assert isinstance(result.appearances[0].verdicts[0], Verdict)  # read back as members, as before
    document = result.to_dict()
    assert type(document["appearances"][0]["verdicts"][0]) is str
    assert yaml.safe_load(yaml.safe_dump(document)) == document
    assert ScanResult.from_dict(document) == result


@pytest.mark.parametrize(("written", "saved"), [("1.0", "1.0"), ("1.9", "1.9"), ("1.99", SCAN_SCHEMA_VERSION)])
def test_a_result_read_and_saved_again_keeps_an_older_version_and_takes_this_one_over_a_newer(
    written: str, saved: str
) -> None:
    """A 1.0 result re-saved through the library claimed this version (1.11) without the settings 1.1 added
    (`settings.detector`): a reader of 1.11 took their absence for a fault. A newer minor version's extra fields
    are dropped on reading, so that one is saved as this version's."""
    document = {**_result().to_dict(), "schema_version": written}
    assert ScanResult.from_dict(document).to_dict()["schema_version"] == saved


@pytest.mark.parametrize(
    ("where", "key"),
    [
        ("appearances.0", "verdicts"),
        ("appearances.0", "reasons"),
        ("appearances.0", "risk"),
        ("sources.0", "verdicts"),
        ("sources.0", "scanned_s"),
        ("", "tool_version"),
        ("", "schema_version"),
    ],
)
def test_a_field_every_version_has_written_is_required(where: str, key: str) -> None:
    """Fields with a default in the code were taken as optional: a result whose appearances had lost their
    verdicts was read, and `report` drafted a takedown of an appearance in the room authorized for it."""
    document = _result().to_dict()
    holder = document
    for step in where.split(".") if where else []:
        holder = holder[int(step)] if isinstance(holder, list) else holder[step]
    del holder[key]
    with pytest.raises(ResultFormatError, match=rf"^{'.'.join([where, key]).lstrip('.')} is missing"):
        ScanResult.from_dict(document)


def test_the_fields_added_since_1_0_may_be_absent() -> None:
    document = _result().to_dict()
    del document["status"], document["run"]["host"]
    for found in document["appearances"]:
        del found["partial_grant"], found["evidence_frame"]
    older = ScanResult.from_dict({**document, "schema_version": "1.1"})
    assert older.status == "complete" and older.run.host is None and older.appearances[0].partial_grant is None


def test_a_result_holding_nan_is_refused_when_written_not_when_read_back() -> None:
    """`"risk": NaN` is no JSON: a caller's edited result was written so, and refused by every reader."""
    result = _result()
    result.appearances[0].risk = float("nan")
    with pytest.raises(ValueError, match="not JSON compliant"):
        result.to_json()
    with pytest.raises(ValueError, match="not JSON compliant"):
        json_line({"risk": float("inf")})
