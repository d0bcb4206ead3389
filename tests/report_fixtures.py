"""Fixtures shared by the report tests (loaded with `pytest_plugins`, never imported by them): one real
scan of the Hamilton clip, made once per session, and a copy of its result with hostile names, file names
and rooms."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from impersonation_cli.config import load_config
from impersonation_cli.gallery.enrol import reference_from_image
from impersonation_cli.gallery.store import Gallery
from impersonation_cli.io.rooms import Room
from impersonation_cli.pipeline.scan import ScanContext, scan_inputs
from impersonation_cli.runtime.engine import FaceEngine

from .report_data import (
    HOSTILE_FILE_NAME,
    HOSTILE_LINK_NAME,
    HOSTILE_NAME,
    HOSTILE_ROOM,
    HOSTILE_SOURCE,
    PEOPLE,
    ROOM,
    STARTED_AT,
    ScannedReport,
)


@pytest.fixture(scope="session")
def hamilton_report(engine: FaceEngine, media: Path, tmp_path_factory: pytest.TempPathFactory) -> ScannedReport:
    """A real scan: Lin-Manuel Miranda (authorized in the room) and Barack Obama (not) in the Hamilton clip,
    plus an input that does not exist, with evidence crops saved."""
    folder = tmp_path_factory.mktemp("hamilton-report")
    gallery_path = folder / "gallery.sqlite"
    with Gallery(gallery_path) as gallery:
        for name, photos in PEOPLE.items():
            outcomes = [reference_from_image(engine, media / "face_recognition" / p) for p in photos]
            gallery.add_person(name, [o.reference for o in outcomes if o.reference is not None])
        gallery.authorize("Lin-Manuel Miranda", ROOM)
        index, authorizations = gallery.index(), gallery.authorizations()
    clip = str(media / "face_recognition" / "short_hamilton_clip.mp4")
    missing = str(folder / "missing.mp4")
    context = ScanContext(
        engine=engine,
        index=index,
        config=load_config(),
        authorizations=authorizations,
        evidence_dir=folder / "evidence",
        fps=1.0,
    )
    result = scan_inputs([clip, missing], context, {clip: Room(clip, ROOM, started_at=STARTED_AT)})
    result_path = folder / "result.json"
    result_path.write_text(result.to_json(), encoding="utf-8")
    return ScannedReport(result_path, gallery_path, result)


@pytest.fixture(scope="session")
def hostile_report(hamilton_report: ScannedReport, tmp_path_factory: pytest.TempPathFactory) -> ScannedReport:
    """The real result with hostile people's names, room, source and evidence file names; the evidence bytes
    (and so their sha256) are the real ones, so images still embed."""
    folder = tmp_path_factory.mktemp("hostile-report")
    result = copy.deepcopy(hamilton_report.result)
    first, second = result.appearances[:2]
    first.identity, second.identity = HOSTILE_NAME, HOSTILE_LINK_NAME
    original_source = first.source
    for appearance in result.appearances:
        appearance.source, appearance.room = HOSTILE_SOURCE, HOSTILE_ROOM
        assert len(appearance.evidence_files) == 2  # the crop and the whole frame
        for n, evidence in enumerate(appearance.evidence_files):
            assert evidence.path is not None
            renamed = folder / f"{appearance.appearance_id}-{n}-{HOSTILE_FILE_NAME}"
            shutil.copyfile(evidence.path, renamed)
            evidence.path = str(renamed)
    for source in result.sources:
        if source.source == original_source:
            source.source, source.room = HOSTILE_SOURCE, HOSTILE_ROOM
    result_path = folder / "hostile <result>.json"
    result_path.write_text(result.to_json(), encoding="utf-8")
    return ScannedReport(result_path, hamilton_report.gallery_path, result)
