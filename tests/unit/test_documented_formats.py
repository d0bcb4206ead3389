"""Every machine output's fields are documented, exactly: each object of each format has a field table in the docs
(a Markdown table whose first header cell is "`<object>` field"), and its first column names every key the code
writes for that object, no more. A field added or removed without its table, or a table naming a field that is no
longer written, fails here. docs/formats.md lists the formats and their versions."""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from impersonation_cli.gallery.store import (
    EXPORT_FORMAT,
    EXPORT_VERSION,
    FINGERPRINT_GRID,
    FINGERPRINT_METHOD,
    FootageVideo,
    Gallery,
    ReferenceFace,
)
from impersonation_cli.io.live_reader import Interruption
from impersonation_cli.io.rooms import Room
from impersonation_cli.outputs.alerts import (
    ALERT_SCHEMA,
    ALERT_SCHEMA_VERSION,
    AlertEvent,
    AlertSink,
    RoomEvent,
    alert_document,
)
from impersonation_cli.outputs.junit import junit_document
from impersonation_cli.pipeline.scan import run_settings
from impersonation_cli.results import (
    EVENT_SCHEMA,
    SCAN_SCHEMA,
    SCAN_SCHEMA_VERSION,
    SCHEMA_VERSION,
    PartialGrant,
    WallclockSpan,
    appearance_event,
)
from impersonation_cli.runtime.host import this_host
from impersonation_cli.tools import bench
from impersonation_cli.tools.evaluation import (
    EVAL_SCHEMA_VERSION,
    CaseOutcome,
    ClassMetric,
    EvalCase,
    GroupAuc,
    SignalAuc,
    report_document,
)

from .builders import (
    appearance,
    model_free_context,
    model_free_watcher,
    scan_result,
    source,
    with_signals_and_evidence,
)
from .small_clips import grey_ramp_clip
from .test_ray_watch_stop import ROOMS, Cluster, driver

DOCS = Path(__file__).resolve().parents[2] / "docs"
FORMATS, WATCH, SCALE, VERDICTS, BENCHMARK, REPORTS = (
    DOCS / name for name in ("formats.md", "watch.md", "scale.md", "verdicts.md", "benchmark.md", "reports.md")
)
# Every field table of the docs, by document: each is checked below.
FIELD_TABLES = {
    FORMATS: {
        "impersonation-cli/scan",
        "settings",
        "sources[]",
        "appearances[]",
        "evidence",
        "signals.<name>",
        "partial_grant",
        "partial_grant.covered",
        "run",
        "run.host",
        "impersonation-cli/appearance",
        "impersonation-cli/gallery-export",
        "persons[]",
        "references[]",
        "authorizations[]",
        "footage[]",
    },
    WATCH: {
        "alert",
        "room event",
        "settings.rooms[].interruptions[]",
        "watch summary settings",
        "settings.rooms[]",
        "settings.recognition",
        "settings.alerts",
        "settings.alerts.webhook",
    },
    SCALE: {
        "ray summary settings",
        "settings.engine",
        "settings.engine.shards[]",
        "settings.alerts.coordinator_delay_s",
    },
    VERDICTS: {"impersonation-cli/eval", "bootstrap", "cases[]", "classes[]", "auc[]", "groups[]"},
    BENCHMARK: {
        "impersonation-cli/bench",
        "video",
        "settings",
        "conditions",
        "paths.<name>",
        "ratios",
        "recall",
        "recall.missed[]",
        "gallery",
    },
}
CELL = re.compile(r"(?<!\\)\|")


def tables(doc: Path) -> list[tuple[str, list[list[str]]]]:
    """The Markdown tables of `doc`: each one's first header cell (backticks dropped) and its rows' cells."""
    found = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines[:-1]):
        if not line.startswith("|") or not re.fullmatch(r"\|[\s:|-]+\|", lines[number + 1].strip()):
            continue
        rows = []
        for row in lines[number + 2 :]:
            if not row.startswith("|"):
                break
            rows.append(_cells(row))
        found.append((_cells(line)[0].replace("`", ""), rows))
    return found


def _cells(row: str) -> list[str]:
    return [cell.strip() for cell in CELL.split(row.strip())[1:-1]]


def table(doc: Path, head: str) -> list[list[str]]:
    """The rows of the one table of `doc` headed `head`."""
    (rows,) = [rows for found, rows in tables(doc) if found == head]
    return rows


def field_tables(doc: Path) -> dict[str, set[str]]:
    """The field tables of `doc` (headed "`<object>` field"), one per object: the names in backticks of each row's
    first cell."""
    found: dict[str, set[str]] = {}
    for head, rows in tables(doc):
        if head.endswith(" field"):
            label = head.removesuffix(" field")
            assert label not in found, f"{doc.name}: two tables headed {head!r}"
            found[label] = {name for row in rows for name in re.findall(r"`([^`]+)`", row[0])}
    return found


def check(doc: Path, written: dict[str, dict[str, Any]]) -> None:
    """Each object's keys as written against its field table in `doc`."""
    documented = field_tables(doc)
    for label, document in written.items():
        assert set(document) == documented[label], f"{doc.name}, `{label}` field: written {sorted(document)}"


def test_every_field_table_is_checked() -> None:
    for doc, labels in FIELD_TABLES.items():
        assert set(field_tables(doc)) == labels, doc.name


def test_the_scan_result_fields_are_documented() -> None:
    """A scan document with every optional part present (evidence, a signal, a partial grant), its settings as a
    scan records them."""
    stretch = WallclockSpan("2026-12-05T23:55:00+08:00", "2026-12-06T00:00:00+08:00")
    grant = PartialGrant("douyin:1", None, "2026-12-05", False, stretch, [stretch])
    result = scan_result([with_signals_and_evidence(appearance(room="douyin:1", partial_grant=grant))])
    result.settings = run_settings(model_free_context(), 2.0)
    result.run = dataclasses.replace(result.run, host=this_host())
    document = result.to_dict()
    (found,) = document["appearances"]
    check(
        FORMATS,
        {
            "impersonation-cli/scan": document,
            "settings": document["settings"],
            "sources[]": document["sources"][0],
            "appearances[]": found,
            "evidence": found["evidence"],
            "signals.<name>": found["signals"]["replay"],
            "partial_grant": found["partial_grant"],
            "partial_grant.covered": found["partial_grant"]["covered"],
            "run": document["run"],
            "run.host": document["run"]["host"],
        },
    )
    assert set(found["partial_grant"]["uncovered"][0]) == field_tables(FORMATS)["partial_grant.covered"]


def test_an_appearance_lines_fields_are_documented() -> None:
    line = appearance_event(with_signals_and_evidence(appearance()))
    documented = field_tables(FORMATS)
    assert set(line) == documented["impersonation-cli/appearance"] | documented["appearances[]"]


def test_alert_and_room_event_lines_fields_are_documented() -> None:
    evidence = with_signals_and_evidence(appearance()).evidence
    finding = alert_document(
        AlertEvent("concurrent", "Eileen Collins", "douyin:2", ["douyin:1", "douyin:2"], "rtmp://h/live/b", "Room two",
                   0.79, 0.9, 2, 1, 6.02, "2026-11-24T19:30:02+00:00", "2026-11-24T19:30:03+00:00", evidence, ["why"])
    )  # fmt: skip
    gap = Interruption("2026-12-05T03:35:40+00:00", None, None, "stalled")
    event = alert_document(RoomEvent("interrupted", "douyin:1", "rtmp://h/live/a", None, "live", gap, "now", ["why"]))
    check(WATCH, {"alert": finding, "room event": event, "settings.rooms[].interruptions[]": event["interruption"]})
    check(FORMATS, {"evidence": finding["evidence"]})


def test_the_watch_summarys_fields_are_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    watcher = model_free_watcher([Room("rtmp://h/live/a", "douyin:1")], None, None, monkeypatch)
    (room,) = watcher.rooms
    room.state.interruptions.append(Interruption("2026-12-05T03:35:40+00:00", None, None, "stalled"))
    settings = watcher.summary().to_dict()["settings"]
    scan_settings = field_tables(FORMATS)["settings"]
    assert set(settings) - scan_settings == field_tables(WATCH)["watch summary settings"]
    assert scan_settings <= set(settings)
    (record,) = settings["rooms"]
    webhook = AlertSink(None, "http://127.0.0.1:9/hook", 600.0)
    webhook.close(webhook_timeout_s=0.0)
    check(
        WATCH,
        {
            "settings.rooms[]": record,
            "settings.rooms[].interruptions[]": record["interruptions"][0],
            "settings.recognition": settings["recognition"],
            "settings.alerts": settings["alerts"],
            "settings.alerts.webhook": webhook.summary()["webhook"],
        },
    )


def test_a_ray_watch_summarys_fields_are_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    from impersonation_cli.distributed.ray_watch import RoomView, ShardOutcome

    watcher = driver(monkeypatch, Cluster())
    local = model_free_watcher(ROOMS, None, None, monkeypatch).summary()
    records = [{**RoomView(number, room).record(), "alerts": 0} for number, room in enumerate(ROOMS, 1)]
    for view, record in zip(watcher.rooms, records, strict=True):
        view.update(record)
    local.settings["rooms"] = records
    watcher._outcomes = [ShardOutcome(local, [], {}, os.getpid())]
    watcher.delays = [0.25]  # an alert's way from its shard to the driver
    settings = watcher.summary().to_dict()["settings"]
    assert set(settings) - set(local.settings) == field_tables(SCALE)["ray summary settings"]
    assert set(settings["alerts"]) - set(local.settings["alerts"]) == {"coordinator_delay_s"}
    check(
        SCALE,
        {
            "settings.engine": settings["engine"],
            "settings.engine.shards[]": settings["engine"]["shards"][0],
            "settings.alerts.coordinator_delay_s": settings["alerts"]["coordinator_delay_s"],
        },
    )
    check(WATCH, {"settings.rooms[]": settings["rooms"][0]})


def test_the_eval_documents_fields_are_documented() -> None:
    case = EvalCase("fake.mp4", None, None, [], ["likely-synthetic"], "fake", "fake/")
    outcome = CaseOutcome(case, source("fake.mp4"), [with_signals_and_evidence(appearance(source="fake.mp4"))])
    auc = SignalAuc("face_forgery", "likely-synthetic", 0.8, (0.6, 0.9), 3, 4, np.zeros((2, 2)))
    group = GroupAuc("fake/", "likely-synthetic", "face_forgery", 0.8, (0.6, 0.9), 3, 4, 2, 0, 1)
    models = {
        "detector": "det_2.5g.onnx:int8:3606d450ca3bec7e",
        "recognizer": "w600k_mbf.onnx:9cc6e4a75f0e1d8c",
        "forgery": "face_forgery.onnx:84b3fb366458ba6d",
    }
    document = report_document([outcome], [ClassMetric("identity", 1, 0, 0)], [auc], [group], models)
    check(
        VERDICTS,
        {
            "impersonation-cli/eval": document,
            "bootstrap": document["bootstrap"],
            "cases[]": document["cases"][0],
            "classes[]": document["classes"][0],
            "auc[]": document["auc"][0],
            "groups[]": document["groups"][0],
        },
    )


def test_the_bench_documents_fields_are_documented(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The decoding paths are measured (no model); the model paths are stood in for, with the details their
    measure functions add (`measure_scan`, `measure_exhaustive`)."""
    seen = bench.Span("person 1", 0.0, 3.0, 3.0)
    modelled = {
        "naive": bench.PathRun("naive", 1.0, 0.5, 6, 3.0, 100.0, 6),
        "scan": bench.PathRun(
            "scan", 1.0, 0.5, 6, 3.0, 100.0, 6, [],
            {"provider": "CPUExecutionProvider", "detector_precision": "int8", "frames_decoded": 75},
        ),
        "exhaustive": bench.PathRun(
            "exhaustive", 2.0, 0.5, 75, 3.0, 100.0, 75, [seen], {"gallery": {"source": "auto", "identities": 1}}
        ),
    }  # fmt: skip
    monkeypatch.setattr(bench, "run_worker", lambda job: modelled.get(job.path) or bench.measure(job))
    clip = grey_ramp_clip(tmp_path / "clip.mp4", 3)
    document = bench.run_bench(bench.BenchJob("", str(clip), 2.0, "sc-2.5g", str(tmp_path))).to_dict()
    documented = field_tables(BENCHMARK)
    assert set().union(*document["paths"].values()) == documented["paths.<name>"]
    check(
        BENCHMARK,
        {
            "impersonation-cli/bench": document,
            "video": document["video"],
            "settings": document["settings"],
            "conditions": document["conditions"],
            "ratios": document["ratios"],
            "recall": document["recall"],
            "recall.missed[]": document["recall"]["missed"][0],
            "gallery": document["gallery"],
        },
    )


def test_the_junit_elements_and_attributes_are_documented() -> None:
    failing = [appearance(), appearance(source="cut.mp4", number=2)]
    result = scan_result(failing, [source(), source("cut.mp4", "truncated"), source("gone.mp4", "unreadable")])
    written: dict[str, set[str]] = {}
    for element in ET.fromstring(junit_document(result)).iter():
        written.setdefault(element.tag, set()).update(element.attrib)
    documented = {  # element, attributes (each in backticks, its values in parentheses), content
        row[0].strip("`<>"): set(re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", row[1])))
        for row in table(REPORTS, "JUnit element")
    }
    assert written == documented


def test_a_gallery_exports_fields_are_documented(tmp_path: Path) -> None:
    with Gallery(tmp_path / "gallery.sqlite") as gallery:
        embedding = np.ones(512, np.float32) / np.sqrt(512)
        face = ReferenceFace("a" * 64, "ref.jpg", "w600k_mbf.onnx:0123", embedding, 120.0, 0.9, 80.0, 1)
        gallery.add_person("Eileen Collins", [face], ["Collins"])
        gallery.authorize("Eileen Collins", "douyin:1", "2026-01-01", None)
        video = FootageVideo("Eileen Collins", "own.mp4", "b" * 64, FINGERPRINT_METHOD, 2.0, 10.0)
        gallery.add_footage(video, [(0.0, bytes(FINGERPRINT_GRID**2))])
        document = gallery.export()
    (person,) = document["persons"]
    check(
        FORMATS,
        {
            "impersonation-cli/gallery-export": document,
            "persons[]": person,
            "references[]": person["references"][0],
            "authorizations[]": person["authorizations"][0],
            "footage[]": person["footage"][0],
        },
    )


def test_each_format_names_its_current_version_and_the_docs_list_every_version() -> None:
    """The version history of docs/formats.md goes one version at a time to the version the code writes, for
    every format."""
    history: dict[str, list[str]] = {}
    format_name = ""
    for row in table(FORMATS, "format"):  # format (blank: as above), version, what changed
        format_name = row[0].strip("`") or format_name
        history.setdefault(format_name, []).append(row[1])
    current = {
        SCAN_SCHEMA: SCAN_SCHEMA_VERSION,
        EVENT_SCHEMA: SCHEMA_VERSION,
        ALERT_SCHEMA: ALERT_SCHEMA_VERSION,
        "impersonation-cli/eval": EVAL_SCHEMA_VERSION,
        bench.SCHEMA: str(bench.SCHEMA_VERSION),
        EXPORT_FORMAT: str(EXPORT_VERSION),
    }
    assert {name: versions[-1] for name, versions in history.items()} == current
    for name, versions in history.items():
        assert all(_follows(a, b) for a, b in itertools.pairwise(versions)), f"{name}: {versions}"
    # The list of outputs names each one's version as well: "`schema`, `schema_version` (1.9)".
    listed = {row[0].strip("`"): re.findall(r"\((\d[\d.]*)\)", row[2]) for row in table(FORMATS, "output")}
    assert {name: versions[0] for name, versions in listed.items() if versions} == current


def _follows(earlier: str, later: str) -> bool:
    """Whether `later` is the version after `earlier`: 1 then 2; 1.3 then 1.4 or 2.0."""
    a, b = (tuple(int(n) for n in version.split(".")) for version in (earlier, later))
    return b == (a[0] + 1,) if len(a) == 1 else b in ((a[0], a[1] + 1), (a[0] + 1, 0))


def test_the_commands_writing_each_format_have_the_options_named() -> None:
    """The list of outputs names the commands and options that write each one ("`scan --json`", "`scan`/`report
    --junit`": both commands with that option): each is a command of the CLI taking that option. It said `scan`
    writes JUnit XML, which only `report --junit` does."""
    import typer.main

    from impersonation_cli.cli import app

    root = typer.main.get_command(app)
    for row in table(FORMATS, "output"):
        cell = re.sub(r"`([a-z][\w -]*)`/`([a-z][\w -]*?) (--[\w-]+)`", r"`\1 \3`, `\2 \3`", row[1])
        for words in (span.split() for span in re.findall(r"`([a-z][\w -]*)`", cell)):
            command, named = root, [w for w in words if not w.startswith("--")]
            for word in named:
                command = command.commands[word]  # type: ignore[attr-defined]  # a click Group's
            options = {opt for param in command.params for opt in param.opts}
            assert {w for w in words if w.startswith("--")} <= options, f"{row[0]}: `{' '.join(words)}`"
