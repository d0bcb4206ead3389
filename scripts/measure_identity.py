"""Measure identity recall and false matches on the shared media (issue 2's closing numbers).

Photos: for every identity folder in deepface_identities and glint360k_celebs, the first two photos
(sorted by name) are enrolled and every other photo is a probe; photos of people never enrolled are
impostor probes. Videos: labelled clips are scanned with the whole gallery; a registered person found in
a clip where they are not labelled is a false match.

    python scripts/measure_identity.py --shared ../shared --models DIR [--pack sc-2.5g] [--fps 2]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from impersonation_cli.config import load_config
from impersonation_cli.gallery.enrol import images_in, reference_from_image
from impersonation_cli.gallery.store import Gallery
from impersonation_cli.pipeline.scan import ScanContext, scan_source
from impersonation_cli.runtime.engine import FaceEngine
from impersonation_cli.runtime.packs import load_pack, model_root

PHOTO_SETS = ("deepface_identities", "glint360k_celebs_ElisonSherton")
IMPOSTOR_PHOTOS = (
    "insightface/inspireface_test_res/lfw",
    "insightface/inspireface_test_res/unknown_woman_face_sample.png",
    "insightface/inspireface_test_res/unknown_woman_selfie_T1.jpeg",
    "facenet_pytorch/test_images/kate_siegel",
    "facenet_pytorch/test_images/paul_rudd",
    "facenet_pytorch/test_images/shea_whigham",
)
# clip -> people expected in it (names as enrolled)
CLIPS = {
    # Alex Lacamoire per the clip's source: the pianist of the first shot, a 40-pixel face in the dark.
    "face_recognition/short_hamilton_clip.mp4": {"Lin-Manuel Miranda", "Barack Obama", "Alex Lacamoire"},
    "facenet_pytorch/video.mp4": set(),
    "opencv_samples_debian/vtest.avi": set(),
    "opencv_samples_debian/Megamind.avi": set(),
    "ai_digital_human_MuseTalk/sun.mp4": set(),
    "ai_digital_human_MuseTalk/yongen.mp4": set(),
    "ffpp_icpr2020dfdc/original/519.mp4": set(),
    "ffpp_icpr2020dfdc/original/634.mp4": set(),
    "ffpp_icpr2020dfdc/original/004.mp4": set(),
    "dfdc_icpr2020dfdc/notebook_samples/lynaeydofd.mp4": set(),
    "effects_short_video/douyin_style_dance_vtest.avi": set(),
    "ffpp_pair_cyshih704/real.mp4": set(),
}
EXTRA_PEOPLE = {
    "Lin-Manuel Miranda": ["face_recognition/lin-manuel-miranda.png"],
    "Alex Lacamoire": ["face_recognition/alex-lacamoire.png"],
    "Joe Biden": ["face_recognition/biden.jpg"],
    "Kit Harington": ["face_recognition/knn_examples/train/kit_harington/john1.jpeg"],
    "Rose Leslie": ["face_recognition/knn_examples/train/rose_leslie/img1.jpg"],
}


def person_name(folder: Path) -> str:
    parts = folder.name.split("_")
    if parts[0].startswith("id") and parts[0][2:].isdigit():
        parts = parts[1:]
    return " ".join(parts)


def photo_split(media: Path) -> dict[str, tuple[list[Path], list[Path]]]:
    split: dict[str, tuple[list[Path], list[Path]]] = {}
    for folder_set in PHOTO_SETS:
        for folder in sorted(p for p in (media / folder_set).iterdir() if p.is_dir() and p.name != "extra"):
            photos = images_in(folder)
            enrol, probe = split.setdefault(person_name(folder), ([], []))
            enrol.extend(photos[:2])
            probe.extend(photos[2:])
    return split


def impostor_photos(media: Path) -> list[Path]:
    found: list[Path] = []
    for item in IMPOSTOR_PHOTOS:
        path = media / item
        found.extend(images_in(path) if path.is_dir() else [path])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--models", type=Path, default=None)
    parser.add_argument("--pack", default=None)
    parser.add_argument("--fps", type=float, default=2.0)
    args = parser.parse_args()
    media = args.shared / "media"
    config = load_config()
    engine = FaceEngine(load_pack(args.pack, model_root(args.models)), detector=config.detector)
    split = photo_split(media)
    with tempfile.TemporaryDirectory() as work, Gallery(Path(work) / "gallery.sqlite") as gallery:
        for name, (enrol, _probe) in split.items():
            refs = [o.reference for p in enrol if (o := reference_from_image(engine, p)).reference]
            gallery.add_person(name, refs)
        for name, photos in EXTRA_PEOPLE.items():
            refs = [o.reference for p in photos if (o := reference_from_image(engine, media / p)).reference]
            gallery.add_person(name, refs)
        index = gallery.index()
        print(f"gallery: {len(index)} people, {len(index.embeddings)} reference faces, pack {engine.pack.name}")
        print(f"match threshold {config.match.threshold}, margin {config.match.margin}")
        probes = [(p, name) for name, (_e, photos) in split.items() for p in photos]
        embedded = [(reference_from_image(engine, p).reference, name) for p, name in probes]
        photo_outcomes = Counter(judge(index, config, ref, name) for ref, name in embedded)
        # Open-set impostors: each genuine probe against the gallery without its own identity.
        left_out = Counter(judge(index, config, ref, name, leave_out=name) for ref, name in embedded if ref)
        impostor_outcomes = Counter(
            judge(index, config, reference_from_image(engine, p).reference, None) for p in impostor_photos(media)
        )
        genuine = sum(photo_outcomes.values()) - photo_outcomes["no face"]
        print(
            f"photos, genuine probes with a face: {genuine}: correct {photo_outcomes['correct']} "
            f"({photo_outcomes['correct'] / max(genuine, 1):.1%} recall), wrong identity "
            f"{photo_outcomes['wrong']}, no match {photo_outcomes['miss']}; no face detected "
            f"{photo_outcomes['no face']}"
        )
        impostors = sum(impostor_outcomes.values()) - impostor_outcomes["no face"]
        print(
            f"photos, impostor probes (never enrolled) with a face: {impostors}: false matches "
            f"{impostor_outcomes['wrong']}"
        )
        print(
            f"photos, genuine probes with their own identity left out of the gallery: {sum(left_out.values())}: "
            f"false matches {left_out['wrong']} ({left_out['wrong'] / max(sum(left_out.values()), 1):.2%})"
        )
        context = ScanContext(engine=engine, index=index, config=config, fps=args.fps)
        for clip, expected in CLIPS.items():
            _result, appearances = scan_source(str(media / clip), 1, context)
            found = {a.identity for a in appearances}
            spans = ", ".join(
                f"{a.identity} {a.start_s:.1f}-{a.end_s:.1f}s ({a.median_similarity:.2f})" for a in appearances
            )
            print(
                f"{clip}: expected {sorted(expected) or '-'}; found {spans or '-'}; "
                f"missed {sorted(expected - found) or '-'}; false {sorted(found - expected) or '-'}"
            )


def judge(index, config, reference, truth: str | None, leave_out: str | None = None) -> str:
    """'correct', 'wrong' (another identity), 'miss' (nobody) or 'no face' for one probe photo."""
    if reference is None:
        return "no face"
    similarity = index.embeddings @ reference.embedding
    names = [n for n in index.names if n != leave_out]
    per_person = np.array([similarity[index.owners == index.names.index(n)].max() for n in names])
    order = np.argsort(-per_person)
    best, second = per_person[order[0]], per_person[order[1]]
    if best < config.match.threshold or best - second < config.match.margin:
        return "miss"
    return "correct" if names[order[0]] == truth else "wrong"


if __name__ == "__main__":
    main()
