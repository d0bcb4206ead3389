"""Write the robustness set: variants of every real video of ../shared/media, as a new user's captures would
come, and an `eval` manifest for them. None of them is a fake, so every `likely-synthetic` there is a false
accusation (target: zero).

Variants (each of at most the first --seconds of the clip): H.264 re-encodes at crf 23, 28 and 35; downscales
to a shorter side of 480 and 360 (skipped where the clip is no bigger); a mirror; brightness +20% and -20%; a
text banner across the bottom; camera shake (FFmpeg dblur, radius 1% of the shorter side) and defocus (a
Gaussian blur, sigma 0.6% of the shorter side). The files go to OUT (outside the repository: shared media is never
copied into the project) with OUT/robustness.yaml:

    python scripts/make_robustness_set.py /tmp/robustness
    impersonation-cli eval /tmp/robustness/robustness.yaml --score-unmatched --json robustness.json

With --phone it writes instead the processing that phone cameras, apps and platforms apply to every capture,
to OUT/phone.yaml: strong denoise (hqdn3d 6:6:8:8, and nlmeans s=4), unsharp 5:5:1.5, saturation 1.5 with
contrast 1.2, grayscale, gamma 0.7 and 1.4, a 240p downscale, a 9:16 centre crop in a 720x1280 phone frame with
a top bar, 15 fps, a two-pass 300 kbit/s re-encode, and a screen recording (1280x720 in a grey 1920x1080 canvas
under a UI bar); and, of up to --photos real photos (held-out first; none under 200 px), JPEG quality 20, a
0.5x downscale and an 'auto enhance' (CLAHE on lightness):

    python scripts/make_robustness_set.py /tmp/phone --phone
    impersonation-cli eval /tmp/phone/phone.yaml --score-unmatched --fps 1 --json phone.json

With --colour it writes instead colour grades of the whole frame that camera apps and live-room filters apply,
to OUT/colour.yaml: a green and a magenta cast (FFmpeg colorbalance on the midtones, 0.2 and 0.4), a teal-and-orange
grade, a hue turned 40 degrees with saturation 1.3, FFmpeg's 'vintage' and 'cross process' curves, and sepia:

    python scripts/make_robustness_set.py /tmp/colour --colour
    impersonation-cli eval /tmp/colour/colour.yaml --score-unmatched --fps 1 --json colour.json

With --captions it writes instead burned-in captions over the face, to OUT/captions.yaml: one line of text 18%
of the face's height (its median box over five frames) centred on the mouth, between mouth and chin, on the chin
and under the chin, each white with a black outline and white on a translucent black band, as live rooms and
re-uploads carry them (what a caption did to the model before: docs/verdicts.md, "Captions over the lower face"):

    python scripts/make_robustness_set.py /tmp/captions --captions
    impersonation-cli eval /tmp/captions/captions.yaml --score-unmatched --fps 1 --json captions.json

With --low-light it writes instead a dim room as a camera captures it, to OUT/lowlight.yaml: the scene 1/3
and 1/6 as bright with the sensor noise the gain brings (FFmpeg noise, luma and colour, changing every frame),
each kept dark and brought back up as a camera's auto exposure does, the brighter one also denoised as phones
do (hqdn3d), and a warm (3,000 K) dim room: low light with noise raised `synthetic` by 0.3-0.6 on every clip
of an exploratory run (docs/verdicts.md, "Other conditions of real footage checked"):

    python scripts/make_robustness_set.py /tmp/lowlight --low-light
    impersonation-cli eval /tmp/lowlight/lowlight.yaml --score-unmatched --fps 1 --json lowlight.json

With --vertical it writes only that 9:16 phone frame, of every real AND every fake video (their labels kept), to
OUT/vertical.yaml: what a phone close-up does to the detector, on fakes as on reals (docs/verdicts.md, "Faces cut
by the frame's edge"):

    python scripts/make_robustness_set.py /tmp/vertical --vertical
    impersonation-cli eval /tmp/vertical/vertical.yaml --score-unmatched --fps 1 --json vertical.json
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
MOTION_BLUR = 0.01  # camera shake: FFmpeg dblur radius as a share of the shorter side
DEFOCUS_SIGMA = 0.006  # a camera focused past the face: Gaussian sigma, this share of the shorter side
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".webm", ".mkv")
VERTICAL = "vertical-9x16"
SET_KINDS = {
    "robustness": "Robustness variants",
    "colour": "Colour grades of the whole frame",
    "phone": "Phone, app and platform processing",
    "vertical": "The 9:16 phone frame",
    "captions": "Captions burned in over the face",
    "lowlight": "A dim room as a camera captures it",
}
CAPTION_TEXT = "LIVE SALE TODAY ONLY  Link below  Follow for more"
CAPTION_HEIGHT = 0.18  # of the face box's height
# Where the caption's middle line lies: between the mouth (0) and the chin (1), the box's lower edge.
CAPTION_PLACES = {"mouth": 0.0, "mouth-chin": 0.5, "chin": 1.0, "below-chin": 1.8}
CAPTION_STYLES = {
    "outline": "fontcolor=white:borderw={border}:bordercolor=black",
    "band": "fontcolor=white:box=1:boxcolor=black@0.55:boxborderw={border}",
}


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
    # Blur in frame units: a 720p clip's shake is dblur radius 7 (a smear of about a tenth of a talking head's face).
    found["motion-blur"] = (f"dblur=angle=30:radius={max(2, round(short_side * MOTION_BLUR))}", QUALITY_CRF)
    found["defocus"] = (f"gblur=sigma={short_side * DEFOCUS_SIGMA:.3g}", QUALITY_CRF)
    return found


def _ui_bar(share: float, text: str) -> str:
    """An app's bar across the top, `share` of the frame's height."""
    bar = f"drawbox=x=0:y=0:w=iw:h=ih*{share}:color=0x202020@0.85:t=fill"
    if not FONT.is_file():
        return bar
    size, top = f"{share * 0.45:.3g}", f"{share * 0.3:.3g}"
    return f"{bar},drawtext=fontfile={FONT}:text='{text}':fontcolor=white:fontsize=h*{size}:x=20:y=h*{top}"


def phone_frame() -> str:
    """The video filter of a phone's portrait frame as live-commerce apps stream it: the middle 9:16 of the picture
    at 720x1280, an app's bar across the top."""
    return (
        "crop='min(iw,ih*9/16)':'min(ih,iw*16/9)',scale=720:1280:force_original_aspect_ratio=decrease,"
        "pad=720:1280:(ow-iw)/2:(oh-ih)/2:black,setsar=1," + _ui_bar(0.07, "LIVE  12.4k")
    )


def phone_variants(short_side: int) -> dict[str, tuple[str, int, str | None]]:
    """Variant name -> (video filter, crf, two-pass bitrate or None): camera, app and platform processing."""
    found: dict[str, tuple[str, int, str | None]] = {
        "denoise-hqdn3d": ("hqdn3d=6:6:8:8", QUALITY_CRF, None),
        "denoise-nlmeans": ("nlmeans=s=4:p=5:r=7", QUALITY_CRF, None),
        "sharpen": ("unsharp=5:5:1.5", QUALITY_CRF, None),
        "saturation": ("eq=saturation=1.5:contrast=1.2", QUALITY_CRF, None),
        "grayscale": ("format=gray,format=yuv420p", QUALITY_CRF, None),
        "gamma0.7": ("eq=gamma=0.7", QUALITY_CRF, None),
        "gamma1.4": ("eq=gamma=1.4", QUALITY_CRF, None),
    }
    scale = _downscale(short_side, 240)
    if scale is not None:
        found["240p"] = (scale, QUALITY_CRF, None)
    found[VERTICAL] = (phone_frame(), QUALITY_CRF, None)
    found["fps15"] = ("fps=15", QUALITY_CRF, None)
    found["2pass-300k"] = ("null", QUALITY_CRF, "300k")
    screen = (
        "scale=1280:720:force_original_aspect_ratio=decrease,setsar=1,"
        "pad=1920:1080:(ow-iw)/2:(oh-ih)/2:color=0x808080," + _ui_bar(0.08, "Live room  -  Shop  -  12.4k watching")
    )
    found["screen-record"] = (screen, QUALITY_CRF, None)
    return found


def colour_variants() -> dict[str, tuple[str, int, str | None]]:
    """Variant name -> (video filter, crf, None): colour grades of the whole frame. A strong green cast made a real
    talking head `likely-effects` (0.988 against 0.98) where no colour grade had been measured."""
    found: dict[str, tuple[str, int, str | None]] = {}
    for strength in (0.2, 0.4):
        found[f"green{strength}"] = (f"colorbalance=rm=-{strength}:gm={strength}:bm=-{strength / 4}", QUALITY_CRF, None)
        found[f"magenta{strength}"] = (f"colorbalance=rm={strength}:gm=-{strength}:bm={strength}", QUALITY_CRF, None)
    found["teal-orange"] = ("colorbalance=rs=-0.3:bs=0.3:rh=0.3:gh=0.1:bh=-0.3", QUALITY_CRF, None)
    found["hue40"] = ("hue=h=40:s=1.3", QUALITY_CRF, None)
    found["vintage"] = ("curves=preset=vintage", QUALITY_CRF, None)
    found["cross-process"] = ("curves=preset=cross_process", QUALITY_CRF, None)
    found["sepia"] = ("colorchannelmixer=.393:.769:.189:0:.349:.686:.168:0:.272:.534:.131", QUALITY_CRF, None)
    return found


def low_light_variants() -> dict[str, tuple[str, int, str | None]]:
    """Variant name -> (video filter, crf, None): the scene `light` times as bright, the sensor noise of its gain
    (`noise` on luma and colour, temporal), left dark or brought back up by auto exposure (the noise with it)."""
    found: dict[str, tuple[str, int, str | None]] = {}
    for light, noise in ((3, 6), (6, 4)):
        dim = f"lutrgb=r=val/{light}:g=val/{light}:b=val/{light},noise=c0s={noise}:c1s={noise}:c2s={noise}:allf=t"
        gain = f"lutrgb=r=val*{light}:g=val*{light}:b=val*{light}"
        found[f"dark1-{light}"] = (dim, QUALITY_CRF, None)
        found[f"gained1-{light}"] = (f"{dim},{gain}", QUALITY_CRF, None)
    found["gained1-3-denoised"] = (f"{found['gained1-3'][0]},hqdn3d=4:3:6:4.5", QUALITY_CRF, None)
    found["warm-dim"] = (f"colortemperature=temperature=3000,{found['dark1-3'][0]}", QUALITY_CRF, None)
    return found


@dataclass(frozen=True)
class FacePlace:
    """Where a clip's face is, in frame pixels: its centre's x, its mouth's and its chin's y, its height."""

    centre_x: float
    mouth_y: float
    chin_y: float
    height: float


def face_place(video: Path, engine, seconds: float) -> FacePlace | None:
    """The median place of the largest face in five frames spread over the first `seconds`; None without one."""
    import cv2
    import numpy as np

    capture = cv2.VideoCapture(str(video))
    places = []
    for moment in np.linspace(0.1, 0.9, 5) * seconds:
        capture.set(cv2.CAP_PROP_POS_MSEC, moment * 1000.0)
        ok, frame = capture.read()
        faces = engine.detect(frame) if ok else None
        if faces is None or not len(faces):
            continue
        largest = int(np.argmax(faces.sizes))
        (x1, y1, x2, y2), mouth = faces.boxes[largest][:4], faces.keypoints[largest][3:5, 1].mean()
        places.append(((x1 + x2) / 2, mouth, y2, y2 - y1))
    capture.release()
    return FacePlace(*np.median(places, axis=0).tolist()) if places else None


def caption_variants(place: FacePlace) -> dict[str, tuple[str, int, str | None]]:
    """Variant name -> (video filter, crf, None): the caption at each of CAPTION_PLACES in each of CAPTION_STYLES."""
    size = max(8, round(CAPTION_HEIGHT * place.height))
    found: dict[str, tuple[str, int, str | None]] = {}
    for where, share in CAPTION_PLACES.items():
        middle = place.mouth_y + share * (place.chin_y - place.mouth_y)
        for style, colours in CAPTION_STYLES.items():
            look = colours.format(border=max(2, size // 8))
            font = f"fontfile={FONT}:" if FONT.is_file() else ""
            text = f"drawtext={font}text='{CAPTION_TEXT}':fontsize={size}:{look}"
            found[f"caption-{where}-{style}"] = (
                f"{text}:x={place.centre_x:.0f}-tw/2:y={middle:.0f}-th/2",
                QUALITY_CRF,
                None,
            )
    return found


@dataclass(frozen=True)
class Variant:
    case: Case
    name: str
    source: Path
    target: Path
    video_filter: str
    crf: int
    bitrate: str | None = None  # a two-pass encode at this bitrate instead of crf


def caption_engine(models: Path):
    """The face engine the detector's training extracts faces with (scripts/train_detector.py)."""
    from train_detector import make_engine

    return make_engine(models)


def encode(variant: Variant, seconds: float) -> str | None:
    """Write one variant (kept if already there: a run can be resumed); the error's last line when ffmpeg fails."""
    if variant.target.is_file():
        return None
    variant.target.parent.mkdir(parents=True, exist_ok=True)
    # Written under another name and renamed when complete, so an interrupted run leaves no half file.
    partial = variant.target.with_name(f".{variant.target.name}")
    command = ["ffmpeg", "-v", "error", "-y", "-t", str(seconds), "-i", str(variant.source), "-an"]
    command += ["-vf", variant.video_filter, "-c:v", "libx264", "-preset", "veryfast"]
    tail = ["-pix_fmt", "yuv420p", "-threads", "1", "-f", "mp4"]
    if variant.bitrate is None:
        runs = [[*command, "-crf", str(variant.crf), *tail, str(partial)]]
    else:
        log = ["-b:v", variant.bitrate, "-passlogfile", str(variant.target.with_name(f".{variant.target.stem}"))]
        runs = [[*command, *log, "-pass", str(n), *tail, str(partial if n == 2 else "/dev/null")] for n in (1, 2)]
    for run in runs:
        done = subprocess.run(run, capture_output=True, text=True)
        if done.returncode != 0:
            return f"{variant.target}: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
    partial.rename(variant.target)
    for log_file in variant.target.parent.glob(f".{variant.target.stem}*.log*"):
        log_file.unlink()
    return None


def photo_variants(cases: list[Case], media: Path, out: Path, limit: int) -> list[tuple[Case, str, Path]]:
    """JPEG quality 20, a 0.5x downscale and CLAHE 'auto enhance' of up to `limit` real photos (held-out ones
    first, then evenly through the rest; none under 200 px, too small to judge at half size): (case, name, file).
    """
    import cv2  # only --phone needs it

    photos = [c for c in cases if c.group.startswith("real/") and c.group.endswith("/photo")]
    usable = []
    for case in photos:
        image = cv2.imread(str(media / case.file), cv2.IMREAD_COLOR)
        if image is not None and min(image.shape[:2]) >= 200:
            usable.append(case)
    first = [c for c in usable if "/held-out/" in c.group][:limit]
    rest = [c for c in usable if "/held-out/" not in c.group]
    step = max(1, len(rest)) / max(1, limit - len(first))
    chosen = first + [rest[int(i * step)] for i in range(min(len(rest), limit - len(first)))]
    made = []
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    for case in chosen:
        image = cv2.imread(str(media / case.file), cv2.IMREAD_COLOR)
        stem = case.file.replace("/", "__").rsplit(".", 1)[0]
        lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
        lab[:, :, 0] = clahe.apply(lab[:, :, 0])
        half = cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
        for name, picture, params in (
            ("photo-jpeg20", image, [cv2.IMWRITE_JPEG_QUALITY, 20]),
            ("photo-half", half, [cv2.IMWRITE_JPEG_QUALITY, 95]),
            ("photo-clahe", cv2.cvtColor(lab, cv2.COLOR_LAB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95]),
        ):
            target = out / name / f"{stem}.jpg"
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.is_file():
                cv2.imwrite(str(target), picture, params)
            made.append((case, name, target))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the variants and robustness.yaml (outside the repository)")
    parser.add_argument("--media", type=Path, default=REPO.parent / "shared" / "media")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each variant, from the clip's start")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--manifest-only", action="store_true", help="encode nothing: list the variants already in OUT (a partial set)"
    )
    parser.add_argument(
        "--phone", action="store_true", help="camera, app and platform processing instead, to OUT/phone.yaml"
    )
    parser.add_argument("--photos", type=int, default=150, help="with --phone: how many real photos to vary")
    parser.add_argument(
        "--vertical",
        action="store_true",
        help="the 9:16 phone frame of every real and fake video, to OUT/vertical.yaml",
    )
    parser.add_argument("--colour", action="store_true", help="colour grades of the whole frame, to OUT/colour.yaml")
    parser.add_argument("--captions", action="store_true", help="captions over the face, to OUT/captions.yaml")
    parser.add_argument("--low-light", action="store_true", help="a dim room with sensor noise, to OUT/lowlight.yaml")
    parser.add_argument("--models", type=Path, default=REPO.parent / "shared" / "models", help="with --captions")
    args = parser.parse_args()
    out = args.out.resolve()
    if out.is_relative_to(REPO):
        parser.error("write the variants outside the repository (shared media is never copied into the project)")
    cases, _ = labelled_cases(args.media)
    reals = [c for c in cases if c.group.startswith("real/") and "/video/" in c.group]
    fakes = [c for c in cases if c.group.startswith("fake/") and c.file.lower().endswith(VIDEO_SUFFIXES)]
    engine = caption_engine(args.models) if args.captions else None
    todo = []
    for case in reals + fakes if args.vertical else reals:
        source = args.media / case.file
        stem = case.file.replace("/", "__").rsplit(".", 1)[0]
        short_side = _shorter_side(source)
        if args.vertical:
            chosen = {VERTICAL: phone_variants(short_side)[VERTICAL]}
        elif args.phone:
            chosen = phone_variants(short_side)
        elif args.colour:
            chosen = colour_variants()
        elif args.low_light:
            chosen = low_light_variants()
        elif engine is not None:
            place = face_place(source, engine, args.seconds)
            if place is None:
                print(
                    f"no face in five frames of the first {args.seconds:g} s, no captions: {case.file}", file=sys.stderr
                )
            chosen = caption_variants(place) if place else {}
        else:
            chosen = {name: (vf, crf, None) for name, (vf, crf) in variants(short_side).items() if vf is not None}
        for name, (video_filter, crf, bitrate) in chosen.items():
            todo.append(Variant(case, name, source, out / name / f"{stem}.mp4", video_filter, crf, bitrate))
    with ThreadPoolExecutor(args.jobs) as pool:
        failures = [] if args.manifest_only else [f for f in pool.map(lambda v: encode(v, args.seconds), todo) if f]
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    made = [(v.case, v.name, v.target) for v in todo if v.target.is_file()]
    clips = len({case.file for case, _, _ in made})
    photos = photo_variants(cases, args.media, out, args.photos) if args.phone else []
    set_names = {
        "vertical": "vertical",
        "phone": "phone",
        "colour": "colour",
        "captions": "captions",
        "low_light": "lowlight",
    }
    set_name = next((name for option, name in set_names.items() if getattr(args, option)), "robustness")
    kind = SET_KINDS[set_name]
    lines = [
        f"# {kind} of {clips} of the {len(reals) + len(fakes) if args.vertical else len(reals)} "
        f"{'' if args.vertical else 'real '}videos of {args.media}",
        *([f"# and of {len({c.file for c, _, _ in photos})} real photos"] if photos else []),
        "# (scripts/make_robustness_set.py).",
        "# Fakes keep their labels."
        if args.vertical
        else "# None is a fake: every likely-synthetic here is a false accusation.",
        "cases:",
    ]
    for case, name, target in made + photos:
        group = ("real" if case.group.startswith("real/") else case.group) if args.vertical else name
        lines += [
            f'  - source: "{target}"',
            f"    group: {set_name}/{group}",
            f"    expected_flags: [{', '.join(case.flags) if args.vertical else ''}]",
            f'    label: "{name} of {case.file}"',
        ]
    manifest = out / f"{set_name}.yaml"
    out.mkdir(parents=True, exist_ok=True)
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    of_photos = f", {len(photos)} of {len({c.file for c, _, _ in photos})} real photos" if args.phone else ""
    of_fakes = f" and {len(fakes)} fake" if args.vertical else ""
    print(f"{len(made)} of {len(todo)} variants of {len(reals)} real{of_fakes} videos{of_photos} -> {manifest}")


if __name__ == "__main__":
    main()
