"""`eval` manifests: every mistake is a one-line UserError naming the entry and key, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from impersonation_cli.errors import UserError
from impersonation_cli.tools.evaluation import CaseOutcome, identity_metric, load_manifest

from .builders import appearance, source

# Lists nested past the recursion limit: PyYAML's composer takes two frames a level. Each level costs its scanner
# time growing with the depth (5000 levels took 1.6-3 s, these 600 0.2 s).
DEEP = sys.getrecursionlimit() // 2 + 100
GOOD_CASE = "  - {source: clip.mp4, group: real/a, label: a real clip, room: 'douyin:1'}\n"
OTHER_CASE = "  - {source: other.mp4, group: fake/b}\n"


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    for name in ("clip.mp4", "other.mp4"):
        (tmp_path / name).write_bytes(b"")  # only their existence is checked
    return tmp_path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases:\n" + GOOD_CASE + "breakdown: 5\n", "'breakdown' must be a list of entries, not str"),
        ("gallery: {name: A}\ncases:\n" + GOOD_CASE, "'gallery' must be a list of entries, not dict"),
        ("footage: x\ncases:\n" + GOOD_CASE, "'footage' must be a list of entries, not str"),
        ("cases:\n  - {source: clip.mp4, gruop: real/a}\n", "case 1 has unknown keys: gruop (known: "),
        ("cases:\n" + GOOD_CASE + "  - {source: clip.mp4, group: [1]}\n", "case 2 group must be a string, not list"),
        ("cases:\n  - {source: [1]}\n", "case 1 source must be a string, not list"),
        ("cases: " + "[" * DEEP + "]" * DEEP + "\n", "nested too deeply"),  # was RecursionError, exit 4
        ("cases:\n" + GOOD_CASE + "cases:\n" + GOOD_CASE, "key 'cases' is given twice"),  # the last was kept
        # A person no case can find (eval registers the manifest's gallery only): a typo was a silent recall miss
        (
            "gallery:\n  - {name: Ann A, images: [clip.mp4]}\n"
            "cases:\n  - {source: clip.mp4, expected_identities: [Anne A]}\n",
            "case 1 expects 'Anne A', who can never be found: the manifest's gallery has 'Ann A'",
        ),
        ("cases:\n  - {source: clip.mp4, expected_identities: [Ann A]}\n", "never be found: it has no gallery"),
        (
            "footage:\n  - {name: Bob, videos: [clip.mp4]}\ncases:\n" + GOOD_CASE,
            "footage of 'Bob', who is not registered",
        ),
        ("cases:\n  - {source: clip.mp4, label: {a: 1}}\n", "case 1 label must be a string, not dict"),
        # The same file twice was counted twice, as a fake and a real at once where the labels differed.
        ("cases:\n  - {source: clip.mp4, group: fake}\n  - {source: ./clip.mp4}\n", "is case 1's file too"),
        # A folder as a source was an unread case scored 0 in every figure.
        ("cases:\n" + GOOD_CASE + "  - {source: ., group: real}\n", "is a folder: name it as the 'folder' of a"),
        ("cases:\n" + GOOD_CASE + "comment: x\n", "has unknown keys: comment"),
        ("gallery:\n  - {name: A, image: [x.jpg]}\ncases:\n" + GOOD_CASE, "gallery entry 1 has unknown keys: image"),
        ("gallery:\n  - {name: [A]}\ncases:\n" + GOOD_CASE, "gallery entry 1 name must be a string, not list"),
        (
            "cases:\n" + GOOD_CASE + "breakdown:\n  - {name: x, negatives: [real/a], postives: []}\n",
            "breakdown entry 1 has unknown keys: postives",
        ),
        # A list of names reused by every case (*names) made the name checks' work grow with its square.
        (
            "gallery: []\ncases:\n  - {source: clip.mp4, expected_identities: &names [A, B]}\n"
            "  - {source: other.mp4, expected_identities: *names}\n",
            "YAML aliases (*name) are not accepted here",
        ),
    ],
)
def test_manifest_mistakes_are_one_line_errors(folder: Path, text: str, message: str) -> None:
    manifest = folder / "m.yaml"
    manifest.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as refused:
        load_manifest(manifest)
    assert message in str(refused.value) and "\n" not in str(refused.value), str(refused.value)


def test_a_manifest_that_is_not_utf8_is_named(folder: Path) -> None:
    manifest = folder / "m.yaml"
    manifest.write_bytes(b"cases:\n  - {source: clip.mp4, label: \xff}\n")
    with pytest.raises(UserError, match=r"manifest .*m\.yaml is not UTF-8 text"):
        load_manifest(manifest)


def test_a_good_manifest_reads(folder: Path) -> None:
    manifest = folder / "m.yaml"
    manifest.write_text("cases:\n" + GOOD_CASE + "  - {source: other.mp4, group: 2024}\n", encoding="utf-8")
    cases = load_manifest(manifest).cases
    assert [(c.group, c.label, c.room) for c in cases] == [("real/a", "a real clip", "douyin:1"), ("2024", "", None)]


def test_manifest_values_are_the_text_written(folder: Path) -> None:
    """YAML 1.1 read `label: 12:30` as 750 and `group: 0777` as 511 (then written back as '750' and '511'), and
    refused `name: 2024-01-01` (a date) and `name: yes` (True): every value of a manifest is text."""
    (folder / "2024-01-01").mkdir()
    manifest = folder / "m.yaml"
    manifest.write_text(
        "gallery:\n  - {name: 2024-01-01, images: [clip.mp4]}\n  - {name: yes, images: [clip.mp4]}\n"
        "cases:\n  - {source: clip.mp4, label: 12:30, group: 0777, expected_identities: [2024-01-01, yes]}\n",
        encoding="utf-8",
    )
    loaded = load_manifest(manifest)
    assert [person.name for person in loaded.gallery] == ["2024-01-01", "yes"]
    case = loaded.cases[0]
    assert (case.label, case.group, case.expected_identities) == ("12:30", "0777", ["2024-01-01", "yes"])


@pytest.mark.parametrize(
    ("entry", "where"),
    [
        ("cases:\n  - {source: 'rtmp://user:secret@host/live/a'}\n", "case 1"),
        (
            "gallery:\n  - {name: A, images: ['https://user:secret@host/a.jpg']}\ncases:\n" + GOOD_CASE,
            "gallery entry 1",
        ),
    ],
)
def test_a_url_in_a_manifest_is_refused_as_one_by_is_stream_url(folder: Path, entry: str, where: str) -> None:
    """A URL was taken for a path relative to the manifest: "case 1: <folder>/rtmp:/user:secret@host/live/a does not
    exist", the password shown. Manifest.files skipped sources holding '://', which no loaded source could hold."""
    manifest = folder / "m.yaml"
    manifest.write_text(entry, encoding="utf-8")
    with pytest.raises(UserError) as refused:
        load_manifest(manifest)
    assert str(refused.value).startswith(f"{where}: ") and "user:***@host/" in str(refused.value), str(refused.value)
    assert "is a URL; eval reads files" in str(refused.value) and "secret" not in str(refused.value)


def test_expected_people_are_matched_as_the_score_matches_them(folder: Path) -> None:
    manifest = folder / "m.yaml"
    manifest.write_text(
        "gallery:\n  - {name: Ann  A, images: [clip.mp4]}\nfootage:\n  - {name: ann a, videos: [clip.mp4]}\n"
        "cases:\n  - {source: clip.mp4, expected_identities: [ANN A]}\n",
        encoding="utf-8",
    )
    assert load_manifest(manifest).cases[0].expected_identities == ["ANN A"]


def test_expected_people_are_one_whatever_their_spacing_and_unicode_form(folder: Path) -> None:
    """As the gallery compares names (store.name_key): a composed 'Renée' is a decomposed one, a double space
    one; the manifest was refused ('expects 'Renée  A', who can never be found: ... has 'Renée A'') and the
    found person, stored composed, was counted a miss and an extra."""
    decomposed = "Rene\u0301e  a"
    manifest = folder / "m.yaml"
    manifest.write_text(
        f"gallery:\n  - {{name: Renée A, images: [clip.mp4]}}\ncases:\n  - {{source: clip.mp4, expected_identities: "
        f"['{decomposed}']}}\n",
        encoding="utf-8",
    )
    case = load_manifest(manifest).cases[0]
    outcome = CaseOutcome(case, source(case.source), [appearance("Renée A", source=case.source)])
    metric = identity_metric([outcome])
    assert (metric.true_positives, metric.false_positives, metric.false_negatives) == (1, 0, 0)


def test_eval_names_an_unread_case_and_exits_3(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A case whose clip could not be read counted in the figures (a fake as a miss, a real as a clean pass)
    with exit 0 and not a word; its status showed only inside --json."""
    from impersonation_cli.cli import eval_cmd, run_app
    from impersonation_cli.tools.evaluation import CaseOutcome, EvalReport

    manifest = folder / "cases.yaml"
    manifest.write_text("cases:\n" + GOOD_CASE + OTHER_CASE, encoding="utf-8")
    cases = load_manifest(manifest).cases
    unread = source(cases[1].source, "unreadable")
    outcomes = [CaseOutcome(cases[0], source(cases[0].source), []), CaseOutcome(cases[1], unread, [])]
    monkeypatch.setattr(eval_cmd, "load_engine", lambda *args: (None, None))
    monkeypatch.setattr(eval_cmd, "evaluation_report", lambda *args: EvalReport(outcomes, [], [], [], {}))
    monkeypatch.setattr("sys.argv", ["impersonation-cli", "eval", str(manifest)])
    with pytest.raises(SystemExit) as ended:
        run_app()
    assert ended.value.code == 3
    assert capsys.readouterr().err.splitlines()[-1] == f"unreadable: {unread.error}"


def test_eval_writes_its_plot_and_json_all_or_none(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --json that could not be written (a full disk) left the --roc plot of the run written beside it."""
    import numpy as np

    from impersonation_cli.cli import eval_cmd, run_app
    from impersonation_cli.results import Verdict
    from impersonation_cli.tools.evaluation import CaseOutcome, EvalReport, SignalAuc

    manifest = folder / "cases.yaml"
    manifest.write_text("cases:\n" + GOOD_CASE, encoding="utf-8")
    case = load_manifest(manifest).cases[0]
    curve = np.array([[0.0, 0.0], [0.5, 0.8], [1.0, 1.0]])
    aucs = [SignalAuc("face_forgery", Verdict.SYNTHETIC, 0.8, (0.6, 0.9), 3, 4, curve)]
    report = EvalReport([CaseOutcome(case, source(case.source), [])], [], aucs, [], {})
    monkeypatch.setattr(eval_cmd, "load_engine", lambda *args: (None, None))
    monkeypatch.setattr(eval_cmd, "evaluation_report", lambda *args: report)
    roc = folder / "roc.png"
    monkeypatch.setattr(
        "sys.argv", ["impersonation-cli", "eval", str(manifest), "--roc", str(roc), "--json", "/dev/full"]
    )
    with pytest.raises(SystemExit) as ended:
        run_app()
    assert ended.value.code == 2
    assert "/dev/full: No space left on device" in capsys.readouterr().err
    assert not roc.exists()


def test_a_case_is_the_file_the_manifest_names_a_symlink_not_followed(folder: Path) -> None:
    """Two cases naming links to one clip (a second room's capture, as rooms files and `scan` keep them) were both
    written to eval's JSON, and named on its progress lines, as the link's target: indistinguishable, and neither
    the name written in the manifest."""
    (folder / "clips").mkdir()
    (folder / "clips" / "room_a.mp4").symlink_to(folder / "clip.mp4")
    (folder / "room_b.mp4").symlink_to("clip.mp4")
    manifest = folder / "m.yaml"
    manifest.write_text(
        "cases:\n  - {source: clips/room_a.mp4}\n  - {source: ./room_b.mp4}\n  - {source: clips/../clip.mp4}\n",
        encoding="utf-8",
    )
    sources = [case.source for case in load_manifest(manifest).cases]
    assert sources == [str(folder / "clips" / "room_a.mp4"), str(folder / "room_b.mp4"), str(folder / "clip.mp4")]


def test_the_eval_json_says_why_a_case_was_not_read(folder: Path) -> None:
    """An unread case's JSON had its status and scores of 0 but not why: the error was only on the screen."""
    from impersonation_cli.tools.evaluation import EVAL_SCHEMA_VERSION, CaseOutcome, report_document

    manifest = folder / "cases.yaml"
    manifest.write_text("cases:\n" + GOOD_CASE + OTHER_CASE, encoding="utf-8")
    cases = load_manifest(manifest).cases
    unread = source(cases[1].source, "unreadable")
    document = report_document(
        [CaseOutcome(cases[0], source(cases[0].source), []), CaseOutcome(cases[1], unread, [])], [], [], [], {}
    )
    assert tuple(int(n) for n in EVAL_SCHEMA_VERSION.split(".")) >= (1, 2)  # cases' error came with 1.2
    assert [(c["status"], c["error"]) for c in document["cases"]] == [("ok", None), ("unreadable", unread.error)]
    assert unread.error


@pytest.fixture()
def footage(folder: Path) -> Path:
    """held_out/{real,fake}: media files (in a subfolder too) among files scan leaves out."""
    for name in ("real/b.mp4", "real/a.MOV", "real/notes.txt", "fake/swap/2.mp4", "fake/1.mp4", "fake/face.png"):
        path = folder / "held_out" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    (folder / "held_out" / "empty" / "sub").mkdir(parents=True)
    (folder / "held_out" / "empty" / "sub" / "readme.md").write_bytes(b"")
    return folder / "held_out"


def test_a_folder_case_is_one_case_per_media_file_in_order_with_the_entrys_keys(folder: Path, footage: Path) -> None:
    """A folder entry expands where it stands into one case per video or image found as `scan FOLDER` finds them
    (recursively, sorted), each with the entry's keys; its label is the file's path in the folder unless given."""
    manifest = folder / "m.yaml"
    manifest.write_text(
        "cases:\n  - {folder: held_out/fake, group: fake/swap, expected_flags: [likely-synthetic]}\n"
        + GOOD_CASE
        + "  - {folder: ./held_out/real/, group: real, label: held out, room: 'douyin:2'}\n",
        encoding="utf-8",
    )
    cases = load_manifest(manifest).cases
    assert [(c.source, c.label, c.group) for c in cases] == [
        (str(footage / "fake" / "1.mp4"), "1.mp4", "fake/swap"),
        (str(footage / "fake" / "face.png"), "face.png", "fake/swap"),
        (str(footage / "fake" / "swap" / "2.mp4"), "swap/2.mp4", "fake/swap"),
        (str(folder / "clip.mp4"), "a real clip", "real/a"),
        (str(footage / "real" / "a.MOV"), "held out", "real"),
        (str(footage / "real" / "b.mp4"), "held out", "real"),
    ]
    assert all(c.expected_flags == ["likely-synthetic"] and c.room is None for c in cases[:3])
    assert all(c.expected_flags == [] and c.room == "douyin:2" for c in cases[4:])
    assert load_manifest(manifest).files[:3] == [Path(c.source) for c in cases[:3]]  # outputs may not replace them


def test_a_file_named_by_its_own_case_is_that_case_not_its_folders(folder: Path, footage: Path) -> None:
    """As `scan FOLDER FILE` lists a file named beside its folder once, where it is named: the explicit case wins,
    before or after the folder entry, and settles a file two folder entries both reach."""
    manifest = folder / "m.yaml"
    manifest.write_text(
        "cases:\n  - {folder: held_out/fake, group: fake}\n"
        "  - {source: held_out/fake/swap/2.mp4, group: fake/swap, label: the swap}\n"
        "  - {folder: held_out/fake/swap, group: other}\n",
        encoding="utf-8",
    )
    cases = load_manifest(manifest).cases
    assert [(Path(c.source).name, c.group, c.label) for c in cases] == [
        ("1.mp4", "fake", "1.mp4"),
        ("face.png", "fake", "face.png"),
        ("2.mp4", "fake/swap", "the swap"),
    ]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            "  - {folder: held_out/empty, group: x}\n",
            "case 1: {held_out}/empty: folder has no file with a video or image extension",
        ),
        (GOOD_CASE + "  - {folder: held_out/nowhere}\n", "case 2: {held_out}/nowhere does not exist"),
        ("  - {folder: held_out/fake/1.mp4}\n", "case 1: {held_out}/fake/1.mp4 is a file: name it as the 'source'"),
        (
            "  - {folder: held_out/fake, source: clip.mp4}\n",
            "case 1 has both a 'source' and a 'folder': a case is one file, or one per file in a folder",
        ),
        ("  - {folder: held_out/fake, gruop: fake}\n", "case 1 has unknown keys: gruop (known: "),
        ("  - {label: x}\n", "case 1 needs a 'source' or a 'folder'"),
        ("  - {folder: [held_out]}\n", "case 1 folder must be a string, not list"),
        ("  - {folder: 'rtmp://u:secret@host/live'}\n", "case 1: rtmp://u:***@host/live is a URL"),
        (
            "  - {folder: held_out/fake}\n  - {folder: held_out/fake/swap}\n",
            "case 2: {held_out}/fake/swap/2.mp4 is also in case 1's folder",
        ),
        (
            "  - {folder: held_out/real, expected_identities: [Ann]}\n",
            "case 1 expects 'Ann', who can never be found",
        ),
    ],
)
def test_folder_case_mistakes_are_one_line_errors_naming_the_entry(
    folder: Path, footage: Path, entries: str, message: str
) -> None:
    manifest = folder / "m.yaml"
    manifest.write_text("cases:\n" + entries, encoding="utf-8")
    with pytest.raises(UserError) as refused:
        load_manifest(manifest)
    said = str(refused.value)
    assert message.format(held_out=footage) in said and "\n" not in said, said


def test_a_folder_cases_label_shows_a_names_bytes_that_are_not_utf8_as_the_source_does(tmp_path: Path) -> None:
    """docs/verdicts.md: a case's label and source show a name's bytes that are not UTF-8 as `\\xNN`; the label
    a folder entry gives its file was written as a lone surrogate, which jq read as U+FFFD."""
    import json
    import os

    from impersonation_cli.tools.evaluation import report_document

    videos = tmp_path / "real"
    videos.mkdir()
    (videos / os.fsdecode(b"bad\xff.mp4")).write_bytes(b"x")
    manifest = tmp_path / "m.yaml"
    manifest.write_text("cases:\n  - {folder: real, group: real}\n", encoding="utf-8")
    case = load_manifest(manifest).cases[0]
    document = report_document([CaseOutcome(case, source(case.source), [])], [], [], [], {})
    shown = document["cases"][0]
    assert shown["label"] == "bad\\xff.mp4" and shown["source"].endswith("bad\\xff.mp4")
    json.dumps(document, ensure_ascii=False).encode("utf-8")  # no lone surrogate left to encode


def test_a_manifest_of_a_whole_dataset_split_is_read(tmp_path: Path) -> None:
    """A case a file of 6,000 clips (1.1 MiB) was refused: 'manifest ... is over 1 MiB; it cannot be a manifest'
    (here the size is a comment's: parsing 6,000 cases takes seconds)."""
    (tmp_path / "clip.mp4").write_bytes(b"x")
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"# {'x' * (1 << 20)}\ncases:\n  - {{source: clip.mp4, group: real}}\n", encoding="utf-8")
    assert len(load_manifest(manifest).cases) == 1
