"""File names that are not UTF-8: the file opens by its own path (the bytes kept), and every output shows the
undecodable bytes the same visible way, `\\xNN` (io/names.py), in text that strict JSON parsers and UTF-8 take.
They were lone surrogates: `\\udcff` escapes in JSON and JSONL (refused by strict parsers), U+FFFD on the
terminal, `\\udcff` as text in HTML and notices."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from rich.console import Console

from impersonation_cli.io.atomic_write import text_bytes
from impersonation_cli.io.rooms import Room
from impersonation_cli.io.sources import expand_inputs, read_image
from impersonation_cli.outputs.console import printable
from impersonation_cli.outputs.evidence import save_evidence
from impersonation_cli.outputs.evidence_files import VERIFIED, check_evidence
from impersonation_cli.outputs.findings import ReportInput
from impersonation_cli.outputs.html import render_html
from impersonation_cli.outputs.junit import build_junit
from impersonation_cli.outputs.table import print_summary
from impersonation_cli.results import ScanResult, appearance_event, json_line

from .builders import appearance, scan_result, source
from .cli_in_process import run_cli


def strict_json(text: str) -> Any:
    """`text` read as a strict parser (serde_json) reads it: no lone surrogate, raw or as a \\u escape (json.loads
    takes '\\udcff' for the lone surrogate '\udcff', which is no UTF-8)."""
    document = json.loads(text)
    waiting = [document]
    while waiting:
        item = waiting.pop()
        if isinstance(item, dict):
            waiting.extend([*item, *item.values()])
        elif isinstance(item, list):
            waiting.extend(item)
        elif isinstance(item, str):
            item.encode("utf-8")
    return document


def picture_named_in_bytes(folder: Path) -> str:
    """A PNG whose name holds the byte 0xff, as Python names it (os.fsdecode: a surrogate stands for the byte)."""
    path = os.fsencode(folder) + b"/clip\xff.png"
    with open(path, "wb") as file:
        file.write(cv2.imencode(".png", np.full((8, 8, 3), 200, np.uint8))[1].tobytes())
    return os.fsdecode(path)


def result_naming(name: str) -> ScanResult:
    return scan_result([appearance("Ann A", name, room="douyin:1")], [source(name, room="douyin:1")])


def test_the_file_still_opens_by_its_own_path(tmp_path: Path) -> None:
    name = picture_named_in_bytes(tmp_path)
    found, problems = expand_inputs([str(tmp_path)])
    assert (found, problems) == ([name], [])
    assert os.fsencode(found[0]).endswith(b"/clip\xff.png") and read_image(found[0]).shape == (8, 8, 3)


def test_every_output_shows_the_byte_as_backslash_x(tmp_path: Path) -> None:
    name = picture_named_in_bytes(tmp_path)
    shown = f"{tmp_path}/clip\\xff.png"  # the four characters \xff, as os.fsencode(...).decode(..., 'backslashreplace')
    assert os.fsencode(name).decode("utf-8", "backslashreplace") == shown
    result = result_naming(name)
    document = strict_json(text_bytes(result.to_json()).decode("utf-8"))
    assert [s["source"] for s in document["sources"]] == [shown] == [a["source"] for a in document["appearances"]]
    assert strict_json(json_line(appearance_event(result.appearances[0])))["source"] == shown
    # A result read back (one written by an earlier version held the surrogate) is shown the same way.
    assert ScanResult.from_dict(json.loads(json.dumps(result.to_dict()))).sources[0].source == shown
    legacy = result.to_dict()
    legacy["sources"][0]["source"] = legacy["appearances"][0]["source"] = name
    assert ScanResult.from_dict(legacy).sources[0].source == shown
    assert shown in text_bytes(render_html(ReportInput(result, tmp_path / "r.json"))).decode("utf-8")
    junit = ET.tostring(build_junit(result).getroot(), encoding="unicode")
    assert shown in [case.get("name") for case in ET.fromstring(junit).iter("testcase")]
    console = Console(record=True, width=400, color_system=None)
    print_summary(result, console)
    assert "clip\\xff.png" in console.export_text()
    assert Room(url=name).shown_url == shown  # alerts' url and room, the dashboard


def test_text_outside_a_source_is_written_as_visible_escapes_too() -> None:
    """A text no result field made shown (an evidence folder's name) is still written as valid text."""
    assert text_bytes("crops/\udcff/a.jpg") == b"crops/\\xff/a.jpg"
    assert strict_json(json_line({"path": "crops/\udcff/a.jpg", "odd": "\ud800"})) == {
        "path": "crops/\\xff/a.jpg",
        "odd": "\\ud800",
    }


def test_the_terminal_shows_the_byte_as_every_file_does(tmp_path: Path) -> None:
    """Messages go through the consoles' one sanitiser (outputs/console.py), which showed the byte as '\\udcff'
    (stderr's backslashreplace): an error naming such a file, eval's progress line."""
    missing = os.fsdecode(os.fsencode(tmp_path) + b"/gone\xff.json")
    finished = run_cli("report", missing, "--html", str(tmp_path / "r.html"))
    assert (finished.returncode, finished.stderr) == (2, f"error: {tmp_path}/gone\\xff.json: no such result file\n")
    assert printable("clip\udcff.mp4\x1b") == "clip\\xff.mp4\\x1b"


def test_a_report_finds_crops_in_an_evidence_folder_named_in_bytes(tmp_path: Path) -> None:
    """An --evidence-dir whose name is not UTF-8 is written into the result as `\\xNN` (strict JSON); `report`
    looked for the crop under that spelling, found nothing and called every crop missing. It reads each `\\xNN`
    back as its byte when the spelling as written names no file; what it prints stays `\\xNN`."""
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/ev\xff"))
    crop = np.full((16, 16, 3), 120, np.uint8)
    evidence = save_evidence(folder, "clip.mp4", "s1-a1", "Ann A", crop, 3.0, np.array([1.0, 2.0, 9.0, 10.0]))
    assert evidence.path is not None and "\udcff" in evidence.path
    result = scan_result([appearance("Ann A", evidence=evidence)])
    (tmp_path / "r.json").write_bytes(text_bytes(result.to_json()))
    loaded = ScanResult.load(tmp_path / "r.json")
    assert loaded.appearances[0].evidence is not None
    written = loaded.appearances[0].evidence.path
    assert written is not None and f"{tmp_path}/ev\\xff/" in written
    found = check_evidence(loaded.appearances[0].evidence, tmp_path)
    assert (found.status, found.path) == (VERIFIED, Path(evidence.path))
    page = text_bytes(render_html(ReportInput(loaded, tmp_path / "r.json"))).decode("utf-8")
    assert "data:image/jpeg;base64," in page and "evidence missing" not in page and "ev\\xff/" in page
