"""Two files of one name in different folders (roomA/clip.jpg, roomB/clip.jpg) read `clip.jpg` in both rows
of the table, both timeline panels and one wall-clock lane: a finding could not be told to its file. Each is now
named by as many of its last path parts as tell it from the others."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from impersonation_cli.outputs.findings import ReportInput, source_names
from impersonation_cli.outputs.html import render_html
from impersonation_cli.outputs.table import print_summary

from .builders import appearance, scan_result, source


def test_a_file_is_named_by_its_name_unless_another_shares_it() -> None:
    paths = ["/in/roomA/clip.jpg", "/in/roomB/clip.jpg", "/in/roomB/other.mp4", "/x/a/b.mp4", "/y/a/b.mp4", "a/b.mp4"]
    result = scan_result([], [source(p) for p in paths])
    assert source_names(result) == {
        "/in/roomA/clip.jpg": "roomA/clip.jpg",
        "/in/roomB/clip.jpg": "roomB/clip.jpg",
        "/in/roomB/other.mp4": "other.mp4",
        "/x/a/b.mp4": "x/a/b.mp4",
        "/y/a/b.mp4": "y/a/b.mp4",
        "a/b.mp4": "a/b.mp4",
    }


def test_streams_of_one_name_keep_their_passwords_out_of_the_names() -> None:
    streams = ["rtmp://user:secret@a.example/live/abc", "rtmp://b.example/live/abc?token=t0ps3cret"]
    names = source_names(scan_result([], [source(s) for s in streams]))
    assert len(set(names.values())) == 2
    assert not any("secret" in name or "t0ps3cret" in name for name in names.values())


def test_the_table_and_the_page_tell_files_of_one_name_apart() -> None:
    found = [appearance("Barack Obama", "/in/roomA/clip.jpg"), appearance("Barack Obama", "/in/roomB/clip.jpg")]
    result = scan_result(found)
    console = Console(record=True, width=240, color_system=None)
    print_summary(result, console)
    text = console.export_text()
    assert "roomA/clip.jpg" in text and "roomB/clip.jpg" in text
    page = render_html(ReportInput(result, Path("result.json")))
    timelines = page.split("<h2>Timelines</h2>", 1)[1].split("<h2>", 1)[0]
    assert "<code>roomA/clip.jpg</code>" in timelines and "<code>roomB/clip.jpg</code>" in timelines
