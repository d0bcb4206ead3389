"""Write eval/shared_labelled.yaml: every labelled fake, effect and real file of ../shared/media as an `eval` case,
with its dataset group, and the per-dataset breakdown that `eval` prints.

Labels come from the media's MANIFEST.tsv (dataset label files, folder layout, file names, visual checks); the
rules below map each folder to a group. Files that are neither photoreal fakes nor real footage are left out
and listed in the manifest's header with the reason. Real groups say whether the forgery detector trained on
them (`real/trained/...`), held them out for validation (`real/held-out/...`: scripts/train_detector.py's
validation people) or never saw them (`real/unused/...`): only held-out and unused reals give honest rates.

    python scripts/make_shared_manifest.py [--media ../shared/media] [--out eval/shared_labelled.yaml]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_detector import EXCLUDED as NOT_TRAINED_ON
from train_detector import VALIDATION_CLIPS, VALIDATION_PHOTO_PREFIXES

REPO = Path(__file__).resolve().parents[1]
SYNTHETIC = "likely-synthetic"
EFFECTS = "likely-effects"

# Left out, with why (path prefixes).
EXCLUDED = {
    "opencv_samples_debian/Megamind": "CGI film characters (and a deliberately damaged copy), not a photoreal fake",
    "ai_digital_human_MuseTalk/yongen.mp4": "an anime-style avatar, not a photoreal fake",
    "ai_portrait_animation_AniPortrait/cxk_side_by_side.mp4": "real photo and fake side by side: its derived/ panels",
    "ai_portrait_animation_AniPortrait/Aragaki_side_by_side.mp4": "real and fake side by side: its derived/ panels",
    "insightface/inspireface_test_res/Cai_Xukun/kun_cartoon_crop.jpg": "a cartoon rendering",
    "insightface/inspireface_test_res/rgb_fake.jpg": "a screen re-capture (presentation attack), not a manipulation",
    "insightface/inspireface_test_res/unknown_woman_face_sample.png": "labelled only 'real-looking'",
    "face_recognition/tests/32bit.png": "a file-format test image, no label",
}


@dataclass(frozen=True)
class Case:
    file: str
    group: str
    flags: tuple[str, ...]
    label: str


def _video_group(file: str) -> tuple[str, tuple[str, ...]] | None:
    """The group and expected flags of a labelled video or GIF, by its folder (None: not a labelled case)."""
    folder, name = file.split("/", 1)
    fake = (SYNTHETIC,)
    rules: list[tuple[bool, str, tuple[str, ...]]] = [
        (file.startswith("ffpp_icpr2020dfdc/original/"), "real/video/ffpp", ()),
        (file.startswith("ffpp_icpr2020dfdc/fake/"), f"fake/ffpp/{Path(name).name.split('_')[0]}", fake),
        (file == "ffpp_pair_cyshih704/real.mp4", "real/video/ffpp", ()),
        (file == "ffpp_pair_cyshih704/fake.mp4", "fake/ffpp/unstated", fake),
        (folder == "dfdc_icpr2020dfdc" and "train_part" in name, "fake/dfdc", fake),
        (file == "dfdc_icpr2020dfdc/notebook_samples/lynaeydofd.mp4", "real/video/dfdc", ()),
        (
            folder in ("real_talking_heads_LivePortrait", "real_talking_heads_video_retalking"),
            "real/video/talking-heads",
            (),
        ),
        (folder == "real_public_figures_video", "real/video/talking-heads", ()),
        (file.startswith("sadtalker/WDA_"), "real/video/talking-heads", ()),
        (name.endswith("_real_driver_panel.mp4"), "real/video/talking-heads", ()),
        (name.endswith("_fake_panel.mp4"), "fake/digital-human/AniPortrait", fake),
        (file == "ai_digital_human_MuseTalk/sun.mp4", "fake/digital-human/MuseTalk", fake),
        (file.startswith("sadtalker/ai_talking_head_"), "fake/digital-human/SadTalker", fake),
        (folder == "ai_talking_head_EMO_VASA1", "fake/digital-human/EMO-VASA", fake),
        (folder == "ai_talking_head_Linly_Talker", "fake/digital-human/Linly", fake),
        (folder == "ai_talking_head_JoyHallo", "fake/digital-human/JoyHallo", fake),
        (folder == "ai_digital_human_DH_live", "fake/digital-human/DH_live", fake),
        (folder == "faceswap_deep_live_cam", "fake/deep-live-cam", fake),
        (file == "beauty_filter_gpupixel/anim_origin.gif", "reference/gpupixel-off", ()),
        (folder == "beauty_filter_gpupixel", "effects/gpupixel", (EFFECTS,)),
        (folder == "effects_short_video", "effects/short-video", (EFFECTS,)),
        (
            file
            in (
                "face_recognition/short_hamilton_clip.mp4",
                "opencv_samples_debian/vtest.avi",
                "facenet_pytorch/video.mp4",
            ),
            "real/video/other",
            (),
        ),
    ]
    return next(((group, flags) for matched, group, flags in rules if matched), None)


def _image_group(file: str, label: str) -> tuple[str, tuple[str, ...]] | None:
    if file == "dfdc_icpr2020dfdc/notebook_samples/mqzvfufzoq_fr0.jpg":
        return "fake/dfdc", (SYNTHETIC,)
    if file == "ai_digital_human_MuseTalk/sun_source.png":
        return "fake/generated-still", (SYNTHETIC,)
    if file == "beauty_filter_gpupixel/origin.jpg":
        return "reference/gpupixel-off", ()
    if file.startswith("beauty_filter_gpupixel/"):
        return "effects/gpupixel", (EFFECTS,)
    if label.lower().startswith("real") and not label.lower().startswith("real-looking"):
        return "real/photo", ()
    return None


def _training_split(file: str) -> str:
    """Whether the forgery detector trained on a real file, validated on it, or never saw it."""
    if file in VALIDATION_CLIPS or file.startswith(VALIDATION_PHOTO_PREFIXES):
        return "held-out"
    return "unused" if file.startswith(NOT_TRAINED_ON) else "trained"


def labelled_cases(media: Path) -> tuple[list[Case], list[tuple[str, str]]]:
    """Every labelled file as a case, and the files left out with why."""
    cases, left_out = [], []
    with (media / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            file, kind, label = row["file"], row["kind"], row["labels"]
            if kind not in ("video", "image"):
                continue
            why = next((reason for prefix, reason in EXCLUDED.items() if file.startswith(prefix)), None)
            found = None if why else (_video_group(file) if kind == "video" else _image_group(file, label))
            if found is None:
                left_out.append((file, why or f"label {label[:60]!r} is neither a fake, an effect nor real"))
                continue
            group = found[0]
            if group.startswith("real/"):
                group = f"real/{_training_split(file)}/{group.removeprefix('real/')}"
            cases.append(Case(file, group, found[1], label.split(";")[0].strip()[:80]))
    return sorted(cases, key=lambda c: (c.group, c.file)), left_out


# Which fakes are measured against which reals. The honest rows rank fakes against reals the detector never
# trained on (held-out people and unused files); FF++/DFDC/Deep-Live-Cam against all such real video, digital
# humans against such real talking heads (the targets); effects against real video and the filter-off
# frame. Rows "against all real ..." add the training reals (optimistic, for comparison).
UNSEEN_VIDEO = ["real/held-out/video/", "real/unused/video/"]
UNSEEN_HEADS = ["real/held-out/video/talking-heads", "real/unused/video/talking-heads"]
ALL_VIDEO = ["real/held-out/video/", "real/unused/video/", "real/trained/video/"]
ALL_HEADS = [*UNSEEN_HEADS, "real/trained/video/talking-heads"]
BREAKDOWN = [
    *(
        (f"FF++ {method}", SYNTHETIC, [f"fake/ffpp/{method}"], UNSEEN_VIDEO)
        for method in ("Deepfakes", "FaceSwap", "NeuralTextures", "Face2Face", "unstated")
    ),
    ("FF++ all", SYNTHETIC, ["fake/ffpp/"], UNSEEN_VIDEO),
    ("DFDC", SYNTHETIC, ["fake/dfdc"], UNSEEN_VIDEO),
    ("FF++ and DFDC, against all real video", SYNTHETIC, ["fake/ffpp/", "fake/dfdc"], ALL_VIDEO),
    *(
        (f"digital human {kind}", SYNTHETIC, [f"fake/digital-human/{kind}"], UNSEEN_HEADS)
        for kind in ("MuseTalk", "AniPortrait", "EMO-VASA", "DH_live", "Linly", "JoyHallo", "SadTalker")
    ),
    ("digital humans, all", SYNTHETIC, ["fake/digital-human/"], UNSEEN_HEADS),
    ("digital humans, against all real talking heads", SYNTHETIC, ["fake/digital-human/"], ALL_HEADS),
    ("Deep-Live-Cam", SYNTHETIC, ["fake/deep-live-cam"], UNSEEN_VIDEO),
    (
        "AI-generated still, against unseen real photos",
        SYNTHETIC,
        ["fake/generated-still"],
        ["real/held-out/photo", "real/unused/photo"],
    ),
    ("all fakes", SYNTHETIC, ["fake/"], UNSEEN_VIDEO),
    *(
        (f"{kind}: flags only", SYNTHETIC, [], [kind])
        for kind in ("real/held-out/", "real/unused/", "real/trained/", "effects/", "reference/")
    ),
    ("GPUPixel filters", EFFECTS, ["effects/gpupixel"], ["reference/gpupixel-off", *UNSEEN_VIDEO]),
    ("effects short video", EFFECTS, ["effects/short-video"], UNSEEN_VIDEO),
    *(
        (f"{kind}: flags only", EFFECTS, [], [kind])
        for kind in ("real/held-out/", "real/unused/", "real/trained/", "fake/")
    ),
]


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def manifest_text(cases: list[Case], left_out: list[tuple[str, str]], media_from_manifest: str) -> str:
    lines = [
        "# Every labelled fake, effect and real file of ../shared/media (third-party; never copied into the project),",
        "# made by scripts/make_shared_manifest.py from its MANIFEST.tsv. Nobody is registered: run with",
        "# --score-unmatched, so every face is judged:",
        "#   impersonation-cli eval eval/shared_labelled.yaml --score-unmatched --json eval.json",
        "# Left out:",
        *(f"#   {file}: {why}" for file, why in left_out),
        "cases:",
    ]
    for case in cases:
        flags = ", ".join(case.flags)
        lines += [
            f"  - source: {_quoted(f'{media_from_manifest}/{case.file}')}",
            f"    group: {case.group}",
            f"    expected_flags: [{flags}]",
            f"    label: {_quoted(case.label)}",
        ]
    lines.append("breakdown:")
    for name, verdict_class, positives, negatives in BREAKDOWN:
        lines += [
            f"  - name: {_quoted(name)}",
            f"    class: {verdict_class}",
            f"    positives: [{', '.join(positives)}]",
            f"    negatives: [{', '.join(negatives)}]",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--media", type=Path, default=REPO.parent / "shared" / "media")
    parser.add_argument("--out", type=Path, default=REPO / "eval" / "shared_labelled.yaml")
    args = parser.parse_args()
    cases, left_out = labelled_cases(args.media)
    relative = os.path.relpath(args.media.resolve(), args.out.resolve().parent)
    args.out.write_text(manifest_text(cases, left_out, relative), encoding="utf-8")
    groups: dict[str, int] = {}
    for case in cases:
        groups[case.group] = groups.get(case.group, 0) + 1
    print(f"{len(cases)} cases, {len(left_out)} left out -> {args.out}")
    for group, count in sorted(groups.items()):
        print(f"  {group}: {count}")


if __name__ == "__main__":
    main()
