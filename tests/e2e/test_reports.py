"""The report command on a real scan: HTML, takedown notices and JUnit XML say what the scan found, keep
hostile names inert in every format, and exit codes follow --fail-on."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml
from markdown_it import MarkdownIt

from impersonation_cli.errors import UserError
from impersonation_cli.outputs.findings import ReportInput, is_flagged, parse_fail_on, read_report_input
from impersonation_cli.outputs.html import render_html
from impersonation_cli.outputs.notice import md_code, md_text, write_notices
from impersonation_cli.results import SourceResult

from ..conftest import run_cli
from ..report_data import (
    HOSTILE_FILE_NAME,
    HOSTILE_LINK_NAME,
    HOSTILE_NAME,
    HOSTILE_ROOM,
    HOSTILE_SOURCE,
    ROOM,
    Elements,
    ScannedReport,
)
from ..unit.cli_in_process import run_cli as run_cli_in_process

pytest_plugins = ["tests.report_fixtures"]


def embedded_images(page: str) -> list[bytes]:
    return [base64.b64decode(uri.split(",", 1)[1]) for uri in re.findall(r"src='(data:image/[^']+)'", page)]


def report_cli(report: ScannedReport, folder: Path, env: dict[str, str], *extra: str):
    return run_cli(
        [
            "report",
            str(report.result_path),
            "--html",
            str(folder / "report.html"),
            "--notice",
            str(folder / "notices"),
            "--junit",
            str(folder / "junit.xml"),
            "--gallery",
            str(report.gallery_path),
            *extra,
        ],
        env,
    )


def test_html_report_shows_the_findings_with_their_pictures(hamilton_report: ScannedReport, cli_env, tmp_path):
    run = report_cli(hamilton_report, tmp_path, cli_env)
    assert run.returncode == 1, run.stderr  # registered people found: today's default
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    result = hamilton_report.result
    assert {a.identity for a in result.appearances} == {"Lin-Manuel Miranda", "Barack Obama"}
    elements = Elements(page)
    csp = [m for m in elements.named("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp and csp[0]["content"] == "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    assert not elements.named("script") and not elements.named("link")
    # Each flagged appearance (Obama; Miranda is authorized and no longer falsely flagged): the evidence crop and
    # the whole frame it was cut from, exactly as saved (sha256), and one reference photo from the gallery.
    flagged = [a for a in result.appearances if is_flagged(a)]
    assert [a.identity for a in flagged] == ["Barack Obama"]
    images = embedded_images(page)
    assert len(images) == 3 * len(flagged)
    embedded = {hashlib.sha256(image).hexdigest() for image in images}
    assert {e.sha256 for a in flagged for e in a.evidence_files} <= embedded
    for appearance in result.appearances:
        assert appearance.identity in page and appearance.evidence is not None
    for appearance in flagged:
        assert len(appearance.evidence_files) == 2
        assert all(Path(e.path).name in page for e in appearance.evidence_files if e.path)
    for verdict in {v for a in result.appearances for v in a.verdicts}:
        assert verdict in page
    for signal in flagged[0].signals.values():
        assert signal.name in page
    assert page.count("verified") >= 2 * len(flagged)
    # The unreadable input, a timeline bar per appearance, and the settings used.
    assert "missing.mp4" in page and "unreadable" in page
    assert len(re.findall(r"<a href='#appearance-\d+'><rect", page)) == len(result.appearances)
    assert result.settings["pack"] in page and result.settings["recognizer"] in page
    assert result.settings["detector"] in page
    assert "match.threshold" in page
    assert f"{len(flagged)} flagged of {len(result.appearances)} appearances" in run.stdout


def test_notice_per_flagged_source_names_who_where_when_and_the_evidence(hamilton_report: ScannedReport, tmp_path):
    report = read_report_input(hamilton_report.result_path, hamilton_report.gallery_path)
    written = write_notices(report, tmp_path)
    assert len(written) == 1  # the clip; the missing input has no appearances
    text = written[0].read_text(encoding="utf-8")
    assert ROOM.split(":")[1] in written[0].name
    for appearance in (a for a in report.result.appearances if is_flagged(a)):
        evidence = appearance.evidence
        assert evidence is not None and evidence.sha256 in text and Path(evidence.path).name in text
        assert appearance.identity in text
        assert appearance.start_wallclock is not None and appearance.start_wallclock[:10] in text
    assert md_code(ROOM) in text
    assert "{{SENDER NAME}}" in text and "Authorization status" in text
    assert "no room is authorized to use Barack Obama" in text
    assert "file verified" in text


def test_junit_is_read_by_a_junit_parser(hamilton_report: ScannedReport, cli_env, tmp_path):
    run = report_cli(hamilton_report, tmp_path, cli_env)
    assert run.returncode == 1, run.stderr
    xml = JUnitXml.fromfile(str(tmp_path / "junit.xml"))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert (suite.tests, suite.failures, suite.errors) == (2, 1, 1)
    cases = {case.name: case for case in suite}
    clip = next(s.source for s in hamilton_report.result.sources if s.status == "ok")
    assert cases[clip].classname == ROOM
    (failure,) = cases[clip].result
    assert isinstance(failure, Failure)
    assert "Barack Obama" in failure.message and "unauthorized-likeness" in failure.message
    assert "no authorization on record for Barack Obama" in failure.text
    missing = next(name for name in cases if name.endswith("missing.mp4"))
    assert cases[missing].classname == "recordings"
    assert isinstance(cases[missing].result[0], Error)


def test_fail_on_chooses_the_verdicts_that_fail(hamilton_report: ScannedReport, cli_env, tmp_path):
    # Lin-Manuel Miranda is authorized in the room: selecting 'authorized' fails, 'concurrent' (one room) not.
    authorized = report_cli(hamilton_report, tmp_path / "a", cli_env, "--fail-on", "authorized")
    assert authorized.returncode == 1, authorized.stderr
    cases = list(next(iter(JUnitXml.fromfile(str(tmp_path / "a" / "junit.xml")))))
    assert sum(isinstance(r, Failure) for case in cases for r in case.result) == 1

    concurrent = report_cli(hamilton_report, tmp_path / "c", cli_env, "--fail-on", "concurrent,replay")
    assert concurrent.returncode == 3, concurrent.stderr  # nothing selected, but an input was unreadable
    suite = next(iter(JUnitXml.fromfile(str(tmp_path / "c" / "junit.xml"))))
    assert (suite.failures, suite.errors) == (0, 1)

    readable = json.loads(hamilton_report.result_path.read_text())
    readable["sources"] = [s for s in readable["sources"] if s["status"] == "ok"]
    (tmp_path / "readable.json").write_text(json.dumps(readable))
    nothing = run_cli(
        ["report", str(tmp_path / "readable.json"), "--junit", str(tmp_path / "j.xml"), "--fail-on", "none"], cli_env
    )
    assert nothing.returncode == 0, nothing.stderr


def test_fail_on_words() -> None:
    policy = parse_fail_on(["synthetic,replay", "concurrent", "likely-effects"])
    assert policy.verdicts == {"likely-synthetic", "likely-replay", "concurrent", "likely-effects"}
    assert not policy.any_identity
    assert parse_fail_on(None).any_identity and parse_fail_on(["any"]).any_identity
    assert parse_fail_on(["none"]).verdicts == frozenset() and not parse_fail_on(["none"]).any_identity
    with pytest.raises(UserError, match="unknown choice 'bogus'"):
        parse_fail_on(["synthetic,bogus"])
    with pytest.raises(UserError, match="'none' cannot be combined"):
        parse_fail_on(["none", "any"])


def test_scan_fail_on(cli_env, media: Path, hamilton_report: ScannedReport) -> None:
    env = {**cli_env, "IMPERSONATION_GALLERY": str(hamilton_report.gallery_path)}
    clip = str(media / "face_recognition" / "short_hamilton_clip.mp4")
    # Found, and both appearances are unauthorized (no room given), but nobody is in two rooms at once.
    quiet = run_cli(["scan", clip, "--fps", "1", "-q", "--fail-on", "concurrent"], env)
    assert quiet.returncode == 0, quiet.stderr
    bad = run_cli_in_process("scan", clip, "--fail-on", "bogus", env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --fail-on") and "Traceback" not in bad.stderr


def test_hostile_text_stays_text_in_html(hostile_report: ScannedReport) -> None:
    page = render_html(read_report_input(hostile_report.result_path, hostile_report.gallery_path))
    elements = Elements(page)
    assert not elements.named("script") and not elements.named("iframe")
    assert all(not name.startswith("on") for _, attrs in elements.tags for name in attrs)
    assert all(str(img["src"]).startswith("data:image/jpeg;base64,") for img in elements.named("img"))
    assert all(str(a["href"]).startswith("#appearance-") for a in elements.named("a"))
    for text in (HOSTILE_NAME, HOSTILE_LINK_NAME, HOSTILE_ROOM, HOSTILE_FILE_NAME):
        assert text not in page
    shown = html.unescape(page)  # the text a reader sees: present there, never raw in the page
    for text in (HOSTILE_NAME, HOSTILE_ROOM):
        assert text in shown
    # The renamed evidence files (the crop and the whole frame) still match their sha256, so they are still shown.
    flagged = [a for a in hostile_report.result.appearances if is_flagged(a)]
    assert len(embedded_images(page)) == 2 * len(flagged) == 2


def test_hostile_text_stays_text_in_notices(hostile_report: ScannedReport, tmp_path: Path) -> None:
    written = write_notices(read_report_input(hostile_report.result_path, None), tmp_path)
    assert len(written) == 1 and written[0].parent == tmp_path
    assert re.fullmatch(r"takedown-[A-Za-z0-9_-]+\.md", written[0].name)
    text = written[0].read_text(encoding="utf-8")
    rendered = MarkdownIt("commonmark", {"html": True}).render(text)
    elements = Elements(rendered)
    # Raw HTML is on in this renderer: only escaping keeps these out.
    assert not elements.named("script") and not elements.named("img") and not elements.named("iframe")
    assert not elements.named("a"), elements.named("a")
    assert "javascript:alert(3)" in rendered  # shown as text
    assert "https://evil" not in text and "www.evil" not in text  # GitHub's automatic links cannot start
    assert "\x1b" not in text


def test_markdown_escaping_helpers() -> None:
    renderer = MarkdownIt("commonmark", {"html": True})
    for hostile in (HOSTILE_NAME, HOSTILE_LINK_NAME, "a`b``c", "` x `", "*not bold* _nor this_ \\[y]"):
        for rendered in (renderer.renderInline(md_text(hostile)), renderer.renderInline(md_code(hostile))):
            assert "<a" not in rendered and "<script" not in rendered and "<em>" not in rendered
            assert "<img" not in rendered
    assert renderer.renderInline(md_text("a*b*c")) == "a*b*c"
    assert renderer.renderInline(md_code("a``b")) == "<code>a``b</code>"
    assert md_text("identity_jitter 0.31: ok") == "identity_jitter 0.31: ok"  # readable as plain text too


def test_hostile_text_stays_text_in_junit(hostile_report: ScannedReport, tmp_path: Path) -> None:
    from impersonation_cli.outputs.junit import junit_document

    (tmp_path / "junit.xml").write_bytes(junit_document(hostile_report.result))
    raw = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert "<script>" not in raw and "<img" not in raw
    suite = next(iter(JUnitXml.fromfile(str(tmp_path / "junit.xml"))))
    cases = {case.name: case for case in suite}
    hostile_case = cases[HOSTILE_SOURCE.replace("\x1b", "\ufffd")]
    assert hostile_case.classname == HOSTILE_ROOM
    (failure,) = hostile_case.result
    assert HOSTILE_NAME in failure.message and HOSTILE_LINK_NAME in failure.message


def test_evidence_is_embedded_only_when_it_is_the_saved_image(hamilton_report: ScannedReport, tmp_path: Path):
    """A result file is untrusted: its evidence path could name any file. Only the image whose sha256 the
    scan recorded is embedded; a changed file, or a non-image with a matching sha256, is reported, not shown."""
    report = read_report_input(hamilton_report.result_path, None)
    (shown,) = [a for a in report.result.appearances if is_flagged(a)]  # only flagged findings show pictures
    assert shown.evidence is not None
    shown.evidence_frame = None  # the crop alone: the whole frame is checked as it is (its own picture, embedded)
    changed = tmp_path / "changed.jpg"
    changed.write_bytes(Path(shown.evidence.path).read_bytes() + b"tampered")
    shown.evidence.path = str(changed)
    page = render_html(ReportInput(report.result, report.result_path))
    assert embedded_images(page) == [] and "evidence changed" in page
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"not an image at all")
    shown.evidence.path, shown.evidence.sha256 = str(secret), hashlib.sha256(secret.read_bytes()).hexdigest()
    page = render_html(ReportInput(report.result, report.result_path))
    assert embedded_images(page) == [] and "evidence not an image" in page
    assert base64.b64encode(b"not an image at all").decode() not in page


def test_rooms_share_one_wall_clock_timeline(hamilton_report: ScannedReport) -> None:
    """The Hamilton result seen in a second room two seconds later: a wall-clock panel puts both rooms on one
    axis, a lane per person and room, so what overlaps in time lines up; one room alone has no such panel."""
    original = hamilton_report.result
    later = [
        replace(
            a,
            room="kuaishou:2002",
            source="/captures/kuaishou.mp4",
            start_wallclock=shifted(a.start_wallclock, 2.0),
            end_wallclock=shifted(a.end_wallclock, 2.0),
        )
        for a in original.appearances
    ]
    second = SourceResult(source="/captures/kuaishou.mp4", kind="video", status="ok", room="kuaishou:2002")
    both = replace(original, sources=[*original.sources, second], appearances=[*original.appearances, *later])
    page = render_html(ReportInput(both, hamilton_report.result_path))
    assert "All rooms by wall-clock time" in page
    for appearance in both.appearances:
        assert f"<title>{html.escape(appearance.identity)} · {html.escape(appearance.room or '')}</title>" in page
    # Every appearance has a bar in its room's panel and one on the shared wall-clock axis.
    assert len(re.findall(r"<a href='#appearance-\d+'><rect", page)) == 2 * len(both.appearances)
    alone = render_html(ReportInput(original, hamilton_report.result_path))
    assert "All rooms by wall-clock time" not in alone


def shifted(stamp: str | None, seconds: float) -> str | None:
    assert stamp is not None
    return (datetime.fromisoformat(stamp) + timedelta(seconds=seconds)).isoformat()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such result file"),
        ("{not json", "not JSON"),
        ("[1, 2]", "a JSON object is expected"),
        ('{"schema": "something/else"}', "not an impersonation-cli scan result"),
        ('{"schema": "impersonation-cli/scan", "schema_version": "1.0"}', "not a complete scan result"),
    ],
)
def test_bad_result_files_are_one_line_errors(cli_env, tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "result.json"
    if content is not None:
        path.write_text(content)
    run = run_cli_in_process("report", str(path), "--html", str(tmp_path / "r.html"), env=cli_env)
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("error:") and message in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_wrong_types_and_options_are_one_line_errors(hamilton_report: ScannedReport, cli_env, tmp_path: Path):
    document = json.loads(hamilton_report.result_path.read_text())
    first = next(iter(document["appearances"][0]["signals"]))
    document["appearances"][0]["signals"][first]["score"] = "<b>high</b>"
    path = tmp_path / "typed.json"
    path.write_text(json.dumps(document))
    run = run_cli_in_process("report", str(path), "--html", str(tmp_path / "r.html"), env=cli_env)
    assert run.returncode == 2 and f"appearances.0.signals.{first}.score should be a number" in run.stderr
    nothing = run_cli_in_process("report", str(hamilton_report.result_path), env=cli_env)
    assert nothing.returncode == 2 and "nothing to write" in nothing.stderr
    no_gallery = run_cli_in_process(
        "report", str(hamilton_report.result_path), "--html", str(tmp_path / "r.html"), "--gallery", "/nonexistent/g",
        env=cli_env,
    )  # fmt: skip
    assert no_gallery.returncode == 2 and "no such gallery file" in no_gallery.stderr


def test_report_reads_the_gallery_from_the_environment(hamilton_report: ScannedReport, cli_env, tmp_path: Path):
    env = {**cli_env, "IMPERSONATION_GALLERY": str(hamilton_report.gallery_path)}
    run = run_cli(["report", str(hamilton_report.result_path), "--html", str(tmp_path / "r.html"), "--quiet"], env)
    assert run.returncode == 1, run.stderr
    assert run.stdout == ""  # --quiet: the documents are the output, the notes about them are not printed
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    flagged = [a for a in hamilton_report.result.appearances if is_flagged(a)]
    assert flagged and "no reference photo" not in page
    assert len(embedded_images(page)) == 3 * len(flagged)  # each flagged one: its crop, frame and reference photo
    # A gallery the environment names for other commands but that does not exist: the report goes without photos.
    env["IMPERSONATION_GALLERY"] = str(tmp_path / "missing.sqlite")
    without = run_cli(["report", str(hamilton_report.result_path), "--html", str(tmp_path / "r2.html")], env)
    assert without.returncode == 1, without.stderr
    assert "no reference photo" in (tmp_path / "r2.html").read_text(encoding="utf-8")


def test_report_of_20000_appearances_stays_bounded(hamilton_report: ScannedReport, cli_env, tmp_path: Path):
    document = json.loads(hamilton_report.result_path.read_text())
    flagged = [a for a in document["appearances"] if a["verdicts"] != ["authorized"]]
    assert flagged
    many = []
    for number in range(20_000):
        appearance = dict(flagged[number % len(flagged)])
        appearance["appearance_id"] = f"a{number}"
        appearance["start_s"], appearance["end_s"] = number * 0.5, number * 0.5 + 0.4
        many.append(appearance)
    document["appearances"] = many
    # Next to the real result, so that the evidence paths (relative to its folder) still lead to the crops.
    big = hamilton_report.result_path.with_name("twenty-thousand.json")
    big.write_text(json.dumps(document))
    run = run_cli(["report", str(big), "--html", str(tmp_path / "big.html")], cli_env, timeout=600)
    assert run.returncode == 1, run.stderr
    page = (tmp_path / "big.html").read_text(encoding="utf-8")
    assert len(page) < 40_000_000  # 1.46 GB before the cap
    assert len(embedded_images(page)) <= 2 * 200
    assert "19800 more flagged appearances are listed below without pictures" in page
    assert "evidence" in page.split("id='left-out'", 1)[1].split("</p>", 1)[0]
    assert page.count("<tr id='appearance-") == 20_000 - 200


def test_deeply_nested_result_is_a_one_line_error(hamilton_report: ScannedReport, cli_env, tmp_path: Path) -> None:
    too_deep = tmp_path / "deep.json"
    too_deep.write_text("[" * 100_000 + "]" * 100_000)
    # A real result with one value nested 5000 deep, in the settings the report prints.
    text = hamilton_report.result_path.read_text()
    nested = tmp_path / "nested.json"
    nested.write_text(text.replace('"config": {', '"config": {"deep": ' + "[" * 5000 + "]" * 5000 + ", ", 1))
    assert '"deep"' in nested.read_text()
    for path in (too_deep, nested):
        run = run_cli_in_process("report", str(path), "--html", str(tmp_path / "r.html"), env=cli_env)
        assert run.returncode == 2, run.stderr
        assert run.stderr.startswith("error:") and "nested too deeply" in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1
