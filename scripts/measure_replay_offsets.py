"""Measure `likely-replay` of known footage without a model: new footage of the same set (never a replay) against
re-broadcasts of stored footage (always one), as docs/verdicts.md ("Replays of known footage") reports them.

New footage: five real LivePortrait talking heads (d3, d9, d10, d13, d14), each cut at 30, 40, 50 and 60% of its
length, the first part stored as footage and the rest scanned at 1, 2 and 4 fps (60 scans). Re-broadcasts: the
first half of three clips (Katie Hill's, d9, d14) stored, then scanned at 1 and 2 fps as copies, crf 35, 480p and
240p, a 10% zoom, 5% corner and 10% side crops, a mirror, a colour grade, a banner, 0.75x, 0.9x and 1.1x speed and
a 4-s excerpt; and the first 60% of the five talking heads re-encoded, zoomed 15% and mirrored (114 scans). The
cuts go to OUT (outside the repository); a run takes about 5 minutes on 2 cores.

    python scripts/measure_replay_offsets.py /tmp/replay-offsets
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from impersonation_cli.config import load_config  # noqa: E402
from impersonation_cli.gallery.store import FootageVideo  # noqa: E402
from impersonation_cli.io.sources import sample_frames  # noqa: E402
from impersonation_cli.pipeline.signals import replay  # noqa: E402

TALKING_HEADS = ("d3", "d9", "d10", "d13", "d14")
STORED_HALVES = {"katie": "sadtalker/WDA_KatieHill_000.mp4", "d9": None, "d14": None}
VARIANTS = {
    "copy": None,
    "crf35": None,
    "480p": "scale=-2:480",
    "240p": "scale=-2:240",
    "zoom10": "crop=iw*0.9:ih*0.9,scale=trunc(iw/0.9/2)*2:trunc(ih/0.9/2)*2",
    "corner5": "crop=iw*0.95:ih*0.95:0:0",
    "side10": "crop=iw*0.9:ih:0:0",
    "mirror": "hflip",
    "grade": "eq=saturation=1.4:gamma=0.9",
    "banner": "drawbox=x=0:y=ih*0.85:w=iw:h=ih*0.15:color=black@0.7:t=fill",
    "speed0.75": "setpts=PTS/0.75",
    "speed0.9": "setpts=PTS/0.9",
    "speed1.1": "setpts=PTS/1.1",
}
WHOLE_VARIANTS = {
    "copy": None,
    "zoom15": "crop=iw*0.85:ih*0.85,scale=trunc(iw/0.85/2)*2:trunc(ih/0.85/2)*2",
    "mirror": "hflip",
}


def encode(source: Path, target: Path, start: float = 0.0, length: float | None = None, **options: str | None) -> Path:
    if not target.is_file():
        command = ["ffmpeg", "-v", "error", "-y", "-ss", str(start), "-i", str(source), "-an"]
        command += ["-t", str(length)] if length else []
        command += ["-vf", options["vf"]] if options.get("vf") else []
        subprocess.run([*command, "-c:v", "libx264", "-crf", options.get("crf") or "18", str(target)], check=True)
    return target


def duration(video: Path) -> float:
    probe = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(video)]
    return float(subprocess.run(probe, capture_output=True, text=True, check=True).stdout)


def replay_score(footage: Path, stream: Path, fps: float) -> float:
    """The source's replay score with `footage` the only stored video, as a scan at `fps` gives it."""
    settings = load_config(None).replay
    frames, length = replay.fingerprint_video(footage, 8.0)
    video = FootageVideo("P", footage.name, "0" * 64, replay.METHOD, 8.0, length, len(frames))
    signatures = np.stack([np.frombuffer(s, np.uint8) for _, s in frames])
    index = replay.FootageIndex([video], np.zeros(len(frames), np.int64), np.array([t for t, _ in frames]), signatures)
    detector = replay.ReplayDetector(index, settings)
    for frame in sample_frames(str(stream), fps, None):
        detector.observe(frame)
    return detector.source_signals()["replay"].score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the cuts (outside the repository)")
    parser.add_argument("--media", type=Path, default=REPO.parent / "shared" / "media")
    args = parser.parse_args()
    out = args.out.resolve()
    if out.is_relative_to(REPO):
        parser.error("write the cuts outside the repository (shared media is never copied into the project)")
    out.mkdir(parents=True, exist_ok=True)
    heads = {name: args.media / f"real_talking_heads_LivePortrait/driving_{name}.mp4" for name in TALKING_HEADS}
    threshold = load_config(None).verdicts.replay_threshold
    new_scores = []
    for name, clip in heads.items():
        for share in (0.3, 0.4, 0.5, 0.6):
            split = round(duration(clip) * share, 2)
            stored = encode(clip, out / f"{name}_{share}_stored.mp4", length=split)
            later = encode(clip, out / f"{name}_{share}_later.mp4", start=split)
            new_scores += [(replay_score(stored, later, fps), f"{name} from {share:.0%}", fps) for fps in (1, 2, 4)]
    caught: dict[str, list[bool]] = {}
    for name, relative in STORED_HALVES.items():
        clip = args.media / relative if relative else heads[name]
        stored = encode(clip, out / f"{name}_half.mp4", length=round(duration(clip) / 2, 2))
        for variant, video_filter in VARIANTS.items():
            crf = "35" if variant == "crf35" else "23"
            copy = encode(stored, out / f"{name}_half_{variant}.mp4", vf=video_filter, crf=crf)
            caught.setdefault(variant, []).extend(replay_score(stored, copy, fps) >= threshold for fps in (1, 2))
        excerpt = encode(stored, out / f"{name}_half_excerpt.mp4", start=1.0, length=4.0)
        caught.setdefault("excerpt 4 s", []).extend(replay_score(stored, excerpt, fps) >= threshold for fps in (1, 2))
    for name, clip in heads.items():
        stored = encode(clip, out / f"{name}_0.6_stored.mp4", length=round(duration(clip) * 0.6, 2))
        for variant, video_filter in WHOLE_VARIANTS.items():
            copy = encode(stored, out / f"{name}_0.6_{variant}.mp4", vf=video_filter, crf="23")
            caught.setdefault(f"{variant} (60%)", []).extend(
                replay_score(stored, copy, fps) >= threshold for fps in (1, 2)
            )
    flagged = [(score, what, fps) for score, what, fps in new_scores if score >= threshold]
    print(f"new footage of the same set flagged likely-replay: {len(flagged)} of {len(new_scores)} {flagged}")
    print(f"  highest score {max(score for score, _, _ in new_scores):.2f} (threshold {threshold})")
    print(f"re-broadcasts caught: {sum(map(sum, caught.values()))} of {sum(map(len, caught.values()))}")
    for variant, found in caught.items():
        print(f"  {variant:14} {sum(found)} of {len(found)}")


if __name__ == "__main__":
    main()
