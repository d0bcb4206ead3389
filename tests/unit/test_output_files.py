"""Output files: written whole into what the user named (a symlink's target, a device), never over the
command's own inputs or over each other, and '-' only where stdout is an output."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from impersonation_cli.errors import UserError
from impersonation_cli.io.atomic_write import write_text_atomic
from impersonation_cli.outputs.files import check_outputs, distinct_files, writable_file, write_outputs, write_reports
from impersonation_cli.outputs.findings import DEFAULT_FAIL_POLICY
from impersonation_cli.outputs.notice import notice_file_name

from .builders import appearance, scan_result, source, with_signals_and_evidence


def test_a_symlink_is_followed_and_kept(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_text_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text(encoding="utf-8") == "new"


def test_a_pipe_is_written_into_not_replaced(tmp_path: Path) -> None:
    # A FIFO of the test's own, not /dev/null: were the file renamed over it, nothing of the system's is lost.
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(pipe.read_bytes()), daemon=True)
    reader.start()
    write_text_atomic(pipe, "through the pipe")
    reader.join(timeout=10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(pipe.stat().st_mode)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc/self/fd")
def test_a_link_to_a_pipe_is_written_into(tmp_path: Path) -> None:
    # `scan --json /dev/stdout | jq`: /dev/stdout links to /proc/self/fd/1, a pipe whose realpath
    # (/proc/<pid>/fd/pipe:[...]) names nothing; the scan ran, then ended "No such file or directory".
    read_end, write_end = os.pipe()
    link = tmp_path / "stdout"
    link.symlink_to(f"/proc/self/fd/{write_end}")
    try:
        write_text_atomic(link, "through the link")
        assert os.read(read_end, 100) == b"through the link"
    finally:
        os.close(read_end)
        os.close(write_end)
    assert link.is_symlink()


def test_a_full_device_is_an_error_naming_it(tmp_path: Path) -> None:
    full = tmp_path / "full"
    try:
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # /dev/full's numbers, in the test's own folder
    except OSError:
        pytest.skip("making a device file needs root")
    with pytest.raises(OSError) as raised:
        write_text_atomic(full, "x" * 10_000)
    assert raised.value.filename == str(full) and stat.S_ISCHR(full.stat().st_mode)


def test_an_output_over_an_input_is_refused(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"video")
    other_name = tmp_path / "again.mp4"
    other_name.hardlink_to(video)
    for output in (video, other_name, tmp_path / "sub" / ".." / "clip.mp4"):
        with pytest.raises(UserError, match=r"is the input .*clip\.mp4: writing it would destroy that input"):
            distinct_files({"--json": output}, [str(video)])
    assert video.read_bytes() == b"video"
    distinct_files({"--json": tmp_path / "result.json"}, [str(video), "rtmp://host/live"])


def test_two_outputs_on_one_file_or_both_on_stdout_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="also the file of --json"):
        distinct_files({"--json": tmp_path / "a.json", "--jsonl": tmp_path / "a.json"})
    with pytest.raises(UserError, match="cannot both go to stdout"):
        distinct_files({"--json": Path("-"), "--jsonl": Path("-")})
    distinct_files({"--json": Path("/dev/null"), "--jsonl": Path("/dev/null")})


def test_dash_is_stdout_only_where_stdout_is_an_output() -> None:
    writable_file(Path("-"), "--json", stdout=True)
    with pytest.raises(UserError, match="--html -: this output goes to a file only"):
        writable_file(Path("-"), "--html")


def test_dash_is_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`report --notice -` (and `scan --evidence-dir -`) made a folder named '-' where a file option refuses it."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match="--notice -: this output is a folder; give a folder name"):
        check_outputs({}, folders={"--notice": Path("-")})
    assert not (tmp_path / "-").exists()


def test_a_takedown_draft_never_replaces_the_result_or_another_document(tmp_path: Path) -> None:
    """`report notices/takedown-x.md --notice notices`: the draft was written over the result file it came from."""
    result = scan_result([appearance(room="douyin:1")], [source(room="douyin:1")])
    notices = tmp_path / "notices"
    notices.mkdir()
    draft = notices / notice_file_name(result.sources[0])
    draft.write_text(result.to_json(), encoding="utf-8")
    for result_path, html in ((draft, None), (tmp_path / "result.json", draft)):
        (tmp_path / "result.json").write_text(result.to_json(), encoding="utf-8")
        with pytest.raises(UserError, match=r"--notice .*takedown-douyin_1-clip-\w+\.md is (the input|also the file)"):
            write_reports(result_path, None, html, notices, None, DEFAULT_FAIL_POLICY, lambda _: None)
        assert draft.read_text(encoding="utf-8") == result.to_json()
    draft.unlink()
    draft.mkdir()
    html = tmp_path / "report.html"
    with pytest.raises(UserError, match=r"--notice .*takedown-douyin_1-clip-\w+\.md: is a folder, not a file"):
        write_reports(tmp_path / "result.json", None, html, notices, None, DEFAULT_FAIL_POLICY, lambda _: None)
    assert not html.exists()  # refused before anything was written


def test_the_documents_of_one_report_are_written_all_or_none(tmp_path: Path) -> None:
    """`report --html k.html --notice DIR --junit /dev/full`: k.html was replaced and the drafts written, then the
    run failed on the JUnit file, leaving a set of documents that belonged to no one run."""
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("needs /dev/full (Linux)")
    result = scan_result([appearance(room="douyin:1")], [source(room="douyin:1")])
    (tmp_path / "result.json").write_text(result.to_json(), encoding="utf-8")
    html = tmp_path / "k.html"
    html.write_text("old", encoding="utf-8")
    notices = tmp_path / "deep" / "notices"
    with pytest.raises(OSError) as raised:
        write_reports(tmp_path / "result.json", None, html, notices, full, DEFAULT_FAIL_POLICY, lambda _: None)
    assert raised.value.filename == str(full)
    assert html.read_text(encoding="utf-8") == "old"
    # No draft, no temporary file, and no folder made for the drafts (docs/reports.md: "no folder is made").
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["k.html", "result.json"]
    said: list[str] = []
    write_reports(tmp_path / "result.json", None, html, notices, tmp_path / "j.xml", DEFAULT_FAIL_POLICY, said.append)
    assert said[1] == f"1 takedown-notice draft(s) in {notices}" and len(list(notices.iterdir())) == 1
    assert "<!DOCTYPE html>" in html.read_text(encoding="utf-8")


def test_an_output_over_a_file_found_in_a_scanned_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `scan DIR --json DIR/clip.mp4` checked the output against DIR only: the scan replaced the video it had
    # just read with its JSON.
    from impersonation_cli.cli import run_app, scan_cmd

    def reached(*args: object, **kwargs: object) -> None:
        raise UserError("the scan started")

    clip = tmp_path / "recordings" / "clip.mp4"
    clip.parent.mkdir()
    clip.write_bytes(b"a video")
    monkeypatch.setattr(scan_cmd.Scanner, "open", reached)
    monkeypatch.setattr("sys.argv", ["impersonation-cli", "scan", str(clip.parent), "--json", str(clip)])
    with pytest.raises(SystemExit) as ended:
        run_app()
    assert ended.value.code == 2
    assert f"--json {clip} is the input {clip}: writing it would destroy that input" in capsys.readouterr().err
    assert clip.read_bytes() == b"a video"


def test_a_file_output_named_as_the_evidence_folder_is_refused_before_the_work(tmp_path: Path) -> None:
    """`watch --json out --evidence-dir out` made the folder, watched, then lost the summary: 'out: Is a directory'."""
    out = tmp_path / "out"
    with pytest.raises(UserError, match=r"^--json .*out is also the folder of --evidence-dir: give each output"):
        check_outputs({"--json": out, "--alerts": None}, [], {"--evidence-dir": tmp_path / "x" / ".." / "out"})
    assert not out.exists()


def test_a_file_output_above_a_folder_output_is_refused_before_the_work(tmp_path: Path) -> None:
    """`scan --json out --evidence-dir out/ev` made out/ev (so `out` a folder) before the scan, scanned, then lost
    the result: 'error: out: Is a directory', exit 2. `report --html out --notice out/n` likewise."""
    out = tmp_path / "out"
    (tmp_path / "link").symlink_to(out, target_is_directory=True)
    for folder in (out / "ev", tmp_path / "link" / "deeper" / "ev"):
        with pytest.raises(UserError, match=r"^--json \S+/out is a folder above --evidence-dir \S+/ev, made before"):
            check_outputs({"--json": out, "--jsonl": None}, [], {"--evidence-dir": folder})
    with pytest.raises(UserError, match=r"^--html \S+/out is a folder above --notice"):
        check_outputs({"--html": out}, [], {"--notice": out / "n"}, inside_allowed=True)
    assert not out.exists()
    check_outputs({"--json": tmp_path / "out.json"}, [], {"--evidence-dir": out / "ev"})


def test_a_file_output_inside_the_evidence_folder_is_refused_before_the_work(tmp_path: Path) -> None:
    """Crops are named as the scan finds people: `scan --json ev/clip-1a2b3c4d/s1-a1_Ann_00003.00s.jpg
    --evidence-dir ev` had the result overwrite a crop whose sha256 it records (or a crop overwrite a JSON line
    file). A file output in a sub-folder of that folder, where the crops go, is refused; one at its top is not."""
    ev = tmp_path / "ev"
    (tmp_path / "link").symlink_to(ev, target_is_directory=True)
    for inside in (
        ev / "clip-1a2b3c4d" / "s1-a1_Ann_00003.00s.jpg",
        ev / "a" / "r.json",
        tmp_path / "link" / "a" / "r",
    ):
        with pytest.raises(
            UserError, match=r"^--jsonl \S+ is in a sub-folder of --evidence-dir \S+/ev, where evidence"
        ):
            check_outputs({"--json": None, "--jsonl": inside}, [], {"--evidence-dir": ev})
    assert not ev.exists()
    check_outputs({"--json": tmp_path / "r.json", "--jsonl": tmp_path / "evidence.jsonl"}, [], {"--evidence-dir": ev})
    check_outputs({"--json": ev / "result.json", "--jsonl": tmp_path / "link" / "a.jsonl"}, [], {"--evidence-dir": ev})
    # A report's drafts are named once the result is read, and each is checked then: its documents may go inside.
    check_outputs(
        {"--html": tmp_path / "notices" / "report.html"}, [], {"--notice": tmp_path / "notices"}, inside_allowed=True
    )


def test_a_report_document_never_replaces_an_evidence_crop_the_result_names(tmp_path: Path) -> None:
    """`report result.json --junit evidence/clip-1/s1-a1_x.jpg`: the crop a takedown rests on (its sha256 in the
    result) was replaced by JUnit XML without a word. Found as recorded, or beside the result (docs/reports.md)."""
    crop = tmp_path / "evidence" / "s1-a1.jpg"
    crop.parent.mkdir()
    crop.write_bytes(b"\xff\xd8\xff crop")
    found = with_signals_and_evidence(appearance(room="douyin:1"))  # evidence/s1-a1.jpg, relative to the result
    result = scan_result([found], [source(room="douyin:1")])
    (tmp_path / "result.json").write_text(result.to_json(), encoding="utf-8")
    for option in ("--html", "--junit"):
        documents = {"--html": None, "--junit": None, option: crop}
        with pytest.raises(UserError, match=f"{option} .*s1-a1.jpg is the input .*s1-a1.jpg: writing it would"):
            write_reports(
                tmp_path / "result.json",
                None,
                documents["--html"],
                None,
                documents["--junit"],
                DEFAULT_FAIL_POLICY,
                print,
            )
        assert crop.read_bytes() == b"\xff\xd8\xff crop"


def test_a_file_written_again_keeps_its_permissions(tmp_path: Path) -> None:
    """`gallery export people.json` over an export its owner had made private (0600: it holds the people's face
    embeddings and photos) left it readable by everyone (0644): the new file took the umask's mode."""
    private = tmp_path / "people.json"
    private.write_text("old", encoding="utf-8")
    private.chmod(0o600)
    shared = tmp_path / "result.json"
    shared.write_text("old", encoding="utf-8")
    shared.chmod(0o664)
    write_text_atomic(private, "new")
    write_text_atomic(shared, "new")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600 and private.read_text(encoding="utf-8") == "new"
    assert stat.S_IMODE(shared.stat().st_mode) == 0o664
    umask = os.umask(0o022)
    os.umask(umask)
    fresh = tmp_path / "new.json"
    write_text_atomic(fresh, "new")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask  # a new file: the umask decides, as for any


def test_drafts_in_the_notice_folder_that_this_result_does_not_make_are_named(tmp_path: Path) -> None:
    """A report of a new result into the folder of an earlier one said '1 takedown-notice draft(s) in notices'
    beside the earlier result's draft of a source it no longer flags (its room authorized since, say), which an
    analyst could send as it was. The report leaves it (it may have been edited), and says it is there."""
    first = scan_result([appearance(source="a.mp4"), appearance(source="b.mp4", number=2)])
    second = scan_result([appearance(source="a.mp4")], [source("a.mp4"), source("b.mp4")])
    notices, said = tmp_path / "notices", []
    for number, result in enumerate((first, second)):
        path = tmp_path / f"result{number}.json"
        path.write_text(result.to_json(), encoding="utf-8")
        said.clear()
        write_reports(path, None, None, notices, None, DEFAULT_FAIL_POLICY, said.append)
    stale = notices / notice_file_name(source("b.mp4"))
    assert stale.is_file()
    assert said == [
        f"1 takedown-notice draft(s) in {notices}",
        f"{notices} also holds 1 draft(s) this result does not make, left as they were: {stale.name}",
    ]


def test_a_result_stdout_cannot_take_is_one_line_naming_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    """`scan --json - > /dev/full` said only 'error: [Errno 28] No space left on device'."""

    class FullDevice:
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

        def flush(self) -> None:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr("sys.stdout", FullDevice())
    with pytest.raises(UserError, match=r"^cannot write the result to stdout \('-'\): No space left on device$"):
        write_outputs(scan_result([appearance()]), Path("-"), None)


@pytest.mark.parametrize("stem_bytes", [243, 250])
def test_an_output_whose_name_is_near_the_longest_a_name_may_be_is_written(tmp_path: Path, stem_bytes: int) -> None:
    # Staged under its own name plus 14 bytes, a 248-byte name failed after the work: 'File name too long'.
    # 'j' first: the temporary name's cut falls inside a two-byte character.
    target = tmp_path / ("j" * (stem_bytes % 2 + 1) + "é" * ((stem_bytes - 1) // 2) + ".json")
    write_text_atomic(target, "{}")
    assert target.read_text() == "{}" and os.listdir(tmp_path) == [target.name]


def test_an_output_named_by_a_descriptor_other_than_stdout_must_be_an_open_pipe(tmp_path: Path) -> None:
    """/dev/fd/7 not open failed after the whole scan; /dev/fd/3 was the SQLite cache ONNX Runtime had opened,
    and the scan's JSON went over it. A pipe (`--json >(jq .)`, /dev/fd/63) is written as before."""
    with pytest.raises(UserError, match=r"^--json /dev/fd/\d+: descriptor \d+ is not open$"):
        writable_file(Path("/dev/fd/999"), "--json")
    with (
        open(tmp_path / "cache.db", "ab") as opened,
        pytest.raises(UserError, match=r"is a file's, not a pipe's: name the file$"),
    ):
        writable_file(Path(f"/proc/self/fd/{opened.fileno()}"), "--json")
    read_end, write_end = os.pipe()
    try:
        writable_file(Path(f"/dev/fd/{write_end}"), "--json")
    finally:
        os.close(read_end)
        os.close(write_end)
