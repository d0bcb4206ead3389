"""A long file scanned in time slices and joined (pipeline/slices.py: what `scan --engine ray` does, each slice on
its own actor) gives the whole file's result. The case: the Hamilton clip looped 4 times (37.5 s; Lin-Manuel Miranda
on stage and Barack Obama in the audience in every loop), in 3 slices of about 12 s whose edges fall inside a loop,
with a face track that runs across a boundary."""

from __future__ import annotations

import copy
import dataclasses
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from impersonation_cli import Room, Scanner
from impersonation_cli.distributed.ray_scan import ScanWorker
from impersonation_cli.io.sources import probe
from impersonation_cli.pipeline.scan import ScanContext, ScanProgress, scan_source
from impersonation_cli.pipeline.signals.scoring import EFFECTS_CUES, SYNTHETIC_CUES
from impersonation_cli.pipeline.slices import LostSlice, SliceScan, join_slices, scan_slice, slices_of
from impersonation_cli.results import Appearance

from ..conftest import run_cli

SLICE_S = 13.0  # 37.5 s: 3 slices
ROOM = Room("looped.mp4", account="douyin:1001", started_at=datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
PEOPLE = {"Lin-Manuel_Miranda": ["lin-manuel-miranda.png"], "Barack_Obama": ["obama.jpg", "obama2.jpg"]}
HAND_MADE_CUES = set(SYNTHETIC_CUES) | set(EFFECTS_CUES)


def without_cue_measures(appearance: Appearance) -> Appearance:
    """The appearance with its hand-made cues' explanations and measures left out (their scores kept)."""
    signals = {
        name: dataclasses.replace(score, explanation="", details={}) if name in HAND_MADE_CUES else score
        for name, score in appearance.signals.items()
    }
    return dataclasses.replace(appearance, signals=signals)


@pytest.fixture(scope="module")
def looped_clip(media: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    clip = media / "face_recognition" / "short_hamilton_clip.mp4"
    target = tmp_path_factory.mktemp("slices") / "hamilton-x4.mp4"
    command = ["ffmpeg", "-v", "error", "-stream_loop", "3", "-i", str(clip), "-an", "-c", "copy", str(target)]
    subprocess.run(command, check=True, timeout=120)
    return target


@pytest.fixture()
def context(media: Path, cli_env: dict[str, str], tmp_path: Path) -> Iterator[ScanContext]:
    people = tmp_path / "people"
    for person, photos in PEOPLE.items():
        (people / person).mkdir(parents=True)
        for photo in photos:
            (people / person / photo).symlink_to(media / "face_recognition" / photo)
    enrolled = run_cli(["gallery", "import", str(people)], cli_env)
    assert enrolled.returncode == 0, enrolled.stderr
    env = cli_env
    with Scanner.open(env["IMPERSONATION_MODELS"], env["IMPERSONATION_PACK"], env["IMPERSONATION_GALLERY"]) as scanner:
        yield dataclasses.replace(scanner.context, evidence_dir=tmp_path / "evidence")


@pytest.mark.shared_media
def test_a_file_scanned_in_slices_gives_the_whole_files_result(looped_clip: Path, context: ScanContext) -> None:
    source = str(looped_clip)
    whole, whole_found = scan_source(source, 3, context, ROOM)
    windows = slices_of(source, SLICE_S, context.config.scan.fps)
    assert [(w.start_s, w.end_s) for w in windows] == [(0.0, 12.0), (12.0, 24.5), (24.5, None)]
    parts: list[SliceScan | LostSlice] = [scan_slice(source, context, window) for window in windows]
    spare, first = copy.deepcopy(parts), copy.deepcopy(parts[0])  # the join takes the slices' tracks over
    sliced, sliced_found = join_slices(probe(source), 3, context, ROOM, parts)

    # The case tests the join only if the tracker's tracks were cut at a boundary and joined again.
    assert sum(len(part.tracks) for part in spare) > sliced.tracks
    assert {a.identity for a in whole_found} == {"Lin-Manuel Miranda", "Barack Obama"}
    # Every field, the ids, similarities, signals, verdicts, wall-clock times and evidence sha256 included, but the
    # hand-made cues' measures (explanations only, never a verdict): the appearance's most suspicious track runs
    # across the 24.5-s edge, where the slice's first frames get a full-resolution detection and the whole-file
    # pass the adaptive one (docs/scale.md, "What can still differ"), so its box there differs by a little.
    assert sliced == whole
    assert [without_cue_measures(a) for a in sliced_found] == [without_cue_measures(a) for a in whole_found]
    for joined, single in zip(sliced_found, whole_found, strict=True):
        for name in HAND_MADE_CUES & joined.signals.keys():
            cue, alone = joined.signals[name], single.signals[name]
            assert abs(cue.score - alone.score) <= 0.02, (name, cue, alone)
            assert all(abs(float(v) - float(alone.details[k])) <= 0.06 for k, v in cue.details.items()), (cue, alone)

    # A slice nobody could scan: the file is truncated with why, and what the other slices found is kept.
    lost = LostSlice(windows[1], "the Ray worker scanning it died on all 3 tries (killed)")
    no_evidence = dataclasses.replace(context, evidence_dir=None)
    gap, gap_found = join_slices(probe(source), 3, no_evidence, ROOM, [spare[0], lost, *spare[2:]])
    assert gap.status == "truncated"
    assert gap.error == f"{source}: 12.0 s to 24.5 not scanned: the Ray worker scanning it died on all 3 tries (killed)"
    assert gap.frames_sampled == whole.frames_sampled - spare[1].stats.frames_sampled
    assert gap_found and all(a.end_s < 12.0 or a.start_s >= 24.5 for a in gap_found)
    assert {(a.identity, a.start_s) for a in gap_found if a.start_s >= 24.5 + context.config.tracker.max_gap_s} <= {
        (a.identity, a.start_s) for a in whole_found
    }

    # Ctrl-C with only the first slice back: the file is "interrupted", and what that slice showed is kept.
    stopped = [first, *(LostSlice(w, "the scan was interrupted") for w in windows[1:])]
    cut, cut_found = join_slices(probe(source), 3, no_evidence, ROOM, stopped, interrupted=True)
    assert (cut.status, cut.error) == (
        "interrupted",
        f"{source}: interrupted (Ctrl-C), 1 of 3 slices scanned; what they showed is kept",
    )
    assert (cut.frames_sampled, cut.scanned_s) == (first.stats.frames_sampled, round(first.stats.last_time_s, 3))
    assert cut_found and all(a.end_s < 12.0 for a in cut_found)

    everything_lost = [LostSlice(w, "the Ray worker scanning it died on all 3 tries") for w in windows]
    nothing, nothing_found = join_slices(probe(source), 3, no_evidence, ROOM, everything_lost)
    assert (nothing.status, nothing_found) == ("unreadable", [])


def _stop_at(worker: ScanWorker, stop_s: float) -> None:
    """Make `worker` stop its task once it has sampled the frame at `stop_s`, as the driver's Ctrl-C asks it to
    (`stop`, which the actor runs on its second thread)."""
    check = worker._stop_point

    def at_time(reached: float | ScanProgress) -> None:
        if (reached.time_s if isinstance(reached, ScanProgress) else reached) >= stop_s:
            worker.stop()
        check(reached)

    worker._stop_point = at_time  # type: ignore[method-assign]


@pytest.mark.shared_media
def test_a_stopped_ray_worker_returns_what_its_task_found(looped_clip: Path, context: ScanContext) -> None:
    """Ctrl-C on a Ray scan's driver now stops each busy actor's task at its next sampled frame, and what the task
    found comes back: a file scanned in one piece, or a slice in progress, lost all of it before."""
    source = str(looped_clip)
    whole = ScanWorker(str(context.engine.pack.folder), "cpu", 1, context.config, None)
    whole.scanner, whole.keep_evidence = Scanner(context), True
    _stop_at(whole, 5.5)
    outcome = whole.scan(source, 2, ROOM, [None])
    result = outcome.result
    assert (result.status, result.frames_sampled) == ("interrupted", 12)
    assert result.error == f"{source}: interrupted (Ctrl-C) 5.5 s in; what it showed until then is kept"
    assert outcome.appearances and all(a.end_s < 6.0 for a in outcome.appearances)  # frames at 5.505 s, 6.006 s
    assert {e.path for a in outcome.appearances for e in a.evidence_files} == set(outcome.crops) != set()
    assert all(a.evidence_frame is not None for a in outcome.appearances)  # the whole frame comes back too

    windows = slices_of(source, SLICE_S, context.config.scan.fps)
    part = ScanWorker(str(context.engine.pack.folder), "cpu", 1, context.config, None)
    part.scanner = Scanner(dataclasses.replace(context, evidence_dir=None))
    _stop_at(part, windows[1].start_s + 3.5)
    second = part.scan_slice(source, windows[1], [None])
    assert (second.stopped, second.error, len(second.sample_times)) == (True, None, 8)
    assert second.sample_times[-1] == pytest.approx(windows[1].start_s + 3.5, abs=0.05)  # at 29.97 fps
    first = scan_slice(source, part.scanner.context, windows[0])
    lost = LostSlice(windows[2], "the scan was interrupted")
    cut, cut_found = join_slices(probe(source), 3, part.scanner.context, ROOM, [first, second, lost])
    assert (cut.status, cut.error) == (
        "interrupted",
        f"{source}: interrupted (Ctrl-C), 1 of 3 slices scanned and 1 more in part; what they showed is kept",
    )
    assert cut.frames_sampled == first.stats.frames_sampled + 8
    assert cut_found and all(a.end_s <= round(second.sample_times[-1], 3) for a in cut_found)
