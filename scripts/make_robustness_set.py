"""Write the robustness set: variants of every real video of ../shared/media, as a new user's captures would
come, and an `eval` manifest for them. None of them is a fake, so every `likely-synthetic` there is a false
accusation (target: zero).

Variants (each of at most the first --seconds of the clip): H.264 re-encodes at crf 23, 28 and 35; downscales
to a shorter side of 480 and 360 (skipped where the clip is no bigger); a mirror; brightness +20% and -20%; a
text banner across the bottom. The files go to OUT (outside the repository: shared media is never copied into
the project) with OUT/robustness.yaml:

    python scripts/make_robustness_set.py /tmp/robustness
    impersonation-cli eval /tmp/robustness/robustness.yaml --score-unmatched --json robustness.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_shared_manifest import REPO, Case, labelled_cases

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
BANNER_TEXT = "LIVE NOW  |  SALE 50% OFF  |  FOLLOW FOR MORE"
QUALITY_CRF = 23  # the re-encode every non-crf variant gets


def _banner() -> str:
    box = "drawbox=x=0:y=ih*0.84:w=iw:h=ih*0.12:color=black@0.6:t=fill"
    if not FONT.is_file():  # no font: the banner's box alone still covers the lower face region
        return box
    return f"{box},drawtext=fontfile={FONT}:text='{BANNER_TEXT}':fontcolor=white:fontsize=h*0.045:x=(w-tw)/2:y=h*0.87"


def _shorter_side(video: Path) -> int:
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "json",
            str(video),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    stream = json.loads(probe.stdout)["streams"][0]
    return min(int(stream["width"]), int(stream["height"]))


def _downscale(short_side: int, target: int) -> str | None:
    if short_side <= target:
        return None
    # The shorter side becomes `target`, whichever way round the video is; the other side stays even.
    return f"scale='if(lt(iw,ih),{target},-2)':'if(lt(iw,ih),-2,{target})'"


def variants(short_side: int) -> dict[str, tuple[str | None, int]]:
    """Variant name -> (video filter or None, crf); None filters are skipped downscales."""
    found: dict[str, tuple[str | None, int]] = {f"crf{crf}": ("null", crf) for crf in (23, 28, 35)}
    for target in (480, 360):
        scale = _downscale(short_side, target)
        if scale is not None:
            found[f"{target}p"] = (scale, QUALITY_CRF)
    found["mirror"] = ("hflip", QUALITY_CRF)
    found["bright+20"] = ("lutyuv=y='clip(val*1.2,0,255)'", QUALITY_CRF)
    found["bright-20"] = ("lutyuv=y='val*0.8'", QUALITY_CRF)
    found["banner"] = (_banner(), QUALITY_CRF)
    return found


@dataclass(frozen=True)
class Variant:
    case: Case
    name: str
    source: Path
    target: Path
    video_filter: str
    crf: int


def encode(variant: Variant, seconds: float) -> str | None:
    """Write one variant (kept if already there: a run can be resumed); the error's last line when ffmpeg fails."""
    if variant.target.is_file():
        return None
    variant.target.parent.mkdir(parents=True, exist_ok=True)
    # Written under another name and renamed when complete, so an interrupted run leaves no half file.
    partial = variant.target.with_name(f".{variant.target.name}")
    command = ["ffmpeg", "-v", "error", "-y", "-t", str(seconds), "-i", str(variant.source), "-an"]
    command += ["-vf", variant.video_filter, "-c:v", "libx264", "-preset", "veryfast", "-crf", str(variant.crf)]
    command += ["-pix_fmt", "yuv420p", "-threads", "1", "-f", "mp4", str(partial)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return f"{variant.target}: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
    partial.rename(variant.target)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the variants and robustness.yaml (outside the repository)")
    parser.add_argument("--media", type=Path, default=REPO.parent / "shared" / "media")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each variant, from the clip's start")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--manifest-only", action="store_true", help="encode nothing: list the variants already in OUT (a partial set)"
    )
    args = parser.parse_args()
    out = args.out.resolve()
    if out.is_relative_to(REPO):
        parser.error("write the variants outside the repository (shared media is never copied into the project)")
    cases, _ = labelled_cases(args.media)
    reals = [c for c in cases if c.group.startswith("real/") and "/video/" in c.group]
    todo = []
    for case in reals:
        source = args.media / case.file
        stem = case.file.replace("/", "__").rsplit(".", 1)[0]
        for name, (video_filter, crf) in variants(_shorter_side(source)).items():
            todo.append(Variant(case, name, source, out / name / f"{stem}.mp4", video_filter, crf))
    with ThreadPoolExecutor(args.jobs) as pool:
        failures = [] if args.manifest_only else [f for f in pool.map(lambda v: encode(v, args.seconds), todo) if f]
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    made = [v for v in todo if v.target.is_file()]
    clips = len({v.case.file for v in made})
    lines = [
        f"# Robustness variants of {clips} of the {len(reals)} real videos of {args.media}",
        "# (scripts/make_robustness_set.py).",
        "# None is a fake: every likely-synthetic here is a false accusation.",
        "cases:",
    ]
    for variant in made:
        lines += [
            f'  - source: "{variant.target}"',
            f"    group: robustness/{variant.name}",
            "    expected_flags: []",
            f'    label: "{variant.name} of {variant.case.file}"',
        ]
    (out / "robustness.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(made)} of {len(todo)} variants of {len(reals)} real videos -> {out}/robustness.yaml")


if __name__ == "__main__":
    main()
