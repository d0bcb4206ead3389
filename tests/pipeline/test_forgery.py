"""The shipped face-forgery detector (impersonation_cli/forgery) on real shared faces and fakes made from them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from impersonation_cli.forgery import ForgeryDetector, ForgeryScores
from impersonation_cli.forgery.selfblend import EFFECT_KINDS, FaceSample, apply_effect, self_blend
from impersonation_cli.pipeline.faces import Faces
from impersonation_cli.runtime.engine import FaceEngine

pytestmark = pytest.mark.shared_media

# A person held out of the detector's training (scripts/train_detector.py VALIDATION_CLIPS).
HELD_OUT_CLIP = ("real_talking_heads_LivePortrait", "driving_d13.mp4")


@pytest.fixture(scope="module")
def detector() -> ForgeryDetector:
    return ForgeryDetector.load(providers=["CPUExecutionProvider"])


def largest_face_at_frame_30(clip: Path, engine: FaceEngine) -> tuple[np.ndarray, Faces]:
    """A held-out clip's frame 30 and its largest face."""
    capture = cv2.VideoCapture(str(clip))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 30)
    ok, frame = capture.read()
    capture.release()
    assert ok, f"{clip} did not decode"
    faces = engine.detect(frame)
    return frame, faces[np.array([int(np.argmax(faces.sizes))])]


@pytest.fixture(scope="module")
def real_face(media: Path, engine: FaceEngine) -> FaceSample:
    """The largest face of the held-out clip's frame 30, with its keypoints and 106 landmarks."""
    frame, faces = largest_face_at_frame_30(media.joinpath(*HELD_OUT_CLIP), engine)
    landmarks = engine.landmarks106(frame, faces)
    assert landmarks is not None, "the test pack has 106-point landmarks"
    return FaceSample(frame, faces.boxes[0], faces.keypoints[0], landmarks[0])


def score_one(detector: ForgeryDetector, face: FaceSample, image: np.ndarray) -> ForgeryScores:
    return detector.score(image, face.box[None], face.keypoints[None])


def test_shipped_model_loads_with_its_metadata(detector: ForgeryDetector) -> None:
    assert re.fullmatch(r"face_forgery\.onnx:[0-9a-f]{16}", detector.model_id)
    assert 0.5 <= detector.synthetic_threshold < 1 and 0.5 <= detector.effects_threshold < 1
    assert detector.min_face_px >= 32
    assert detector.metadata["sha256"].startswith(detector.model_id.split(":")[1])


def test_self_blend_of_a_real_face_scores_higher_than_the_face(detector: ForgeryDetector, real_face) -> None:
    real = score_one(detector, real_face, real_face.image)
    blends = [
        score_one(detector, real_face, self_blend(real_face, np.random.default_rng(seed))).synthetic[0]
        for seed in range(8)  # blends differ widely (0.05-0.33 on this face): their mean needs a few
    ]
    assert real.judged[0]
    assert real.synthetic[0] < detector.synthetic_threshold, "a held-out real face reads as forged"
    assert min(blends) > real.synthetic[0], (real.synthetic[0], blends)
    assert np.mean(blends) > real.synthetic[0] + 0.15, (real.synthetic[0], blends)


@pytest.mark.parametrize("kind", ["beauty", "big_eyes", "sticker"])
def test_effects_version_scores_higher_on_effects(detector: ForgeryDetector, real_face, kind: str) -> None:
    real = score_one(detector, real_face, real_face.image)
    edited = [
        score_one(detector, real_face, apply_effect(real_face, np.random.default_rng(seed), kind)).effects[0]
        for seed in range(3)
    ]
    assert np.mean(edited) > real.effects[0], (kind, real.effects[0], edited)


def test_scores_have_the_documented_shapes_and_a_tiny_face_is_not_judged(detector: ForgeryDetector, real_face) -> None:
    scale = (detector.min_face_px - 8) / float(
        min(real_face.box[2] - real_face.box[0], real_face.box[3] - real_face.box[1])
    )
    small = cv2.resize(real_face.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.zeros_like(real_face.image)
    canvas[: small.shape[0], : small.shape[1]] = small
    canvas[:, small.shape[1] :] = real_face.image[:, small.shape[1] :]
    boxes = np.stack([real_face.box, real_face.box * scale])
    keypoints = np.stack([real_face.keypoints, real_face.keypoints * scale])
    scores = detector.score(canvas, boxes, keypoints)
    for values in (scores.synthetic, scores.effects, scores.judged):
        assert values.shape == (2,)
    assert scores.judged.dtype == bool
    assert not scores.judged[1] and np.isnan(scores.synthetic[1]) and np.isnan(scores.effects[1])
    empty = detector.score(canvas, np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32))
    assert empty.synthetic.shape == empty.effects.shape == empty.judged.shape == (0,)


def test_fakes_are_deterministic_given_the_generator(real_face) -> None:
    for make in [self_blend] + [lambda f, r, k=k: apply_effect(f, r, k) for k in EFFECT_KINDS]:
        first = make(real_face, np.random.default_rng(7))
        assert np.array_equal(first, make(real_face, np.random.default_rng(7)))
        assert not np.array_equal(first, real_face.image)


def cut_left(face: FaceSample, image: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`image` with its left part gone, so that `share` of the square around the face's box (its longer side, as the
    detector measures) lies beyond the new frame's edge, and the box and keypoints in the cut frame."""
    x0 = int((face.box[0] + face.box[2]) / 2 - face.side / 2 + share * face.side)
    offset = np.array([x0, 0], dtype=np.float32)
    return image[:, x0:].copy(), face.box[:4] - np.tile(offset, 2), face.keypoints - offset


def test_a_face_cut_by_the_frame_edge_is_judged_and_not_accused(detector: ForgeryDetector, real_face) -> None:
    """A phone close-up's face fills the frame's width: its context crop leaves the picture. The shipped model was
    trained on faces cut so, and judges a face whose box lies up to a quarter outside (metadata crop.outside), and
    ranks every self-blend of it above it. By how much is the model's: this face cut so scores 0.08 `synthetic` and
    its 8 blends 0.12-0.35 with the shipped model, 0.17 and 0.23-0.75 with the model before (84b3fb36)."""
    image, box, keypoints = cut_left(real_face, real_face.image, 0.15)
    real = detector.score(image, box[None], keypoints[None])
    assert real.judged[0], "a face 15% beyond the frame's edge is not judged"
    assert real.synthetic[0] < detector.synthetic_threshold and real.effects[0] < detector.effects_threshold
    blends = [
        detector.score(
            cut_left(real_face, self_blend(real_face, np.random.default_rng(s)), 0.15)[0], box[None], keypoints[None]
        ).synthetic[0]
        for s in range(8)
    ]
    assert min(blends) > real.synthetic[0], (real.synthetic[0], blends)
    assert np.mean(blends) > real.synthetic[0] + 0.1, (real.synthetic[0], blends)
    beyond, box, keypoints = cut_left(real_face, real_face.image, 0.4)
    assert not detector.score(beyond, box[None], keypoints[None]).judged[0], "a face 40% outside is judged"


def motion_blurred(image: np.ndarray, length: int, angle_degrees: float) -> np.ndarray:
    """`image` blurred along a line `length` px long at an angle, as a moving head blurs during an exposure."""
    kernel = np.zeros((length, length), np.float32)
    centre, reach = (length - 1) / 2, (length - 1) / 2 * np.exp(1j * np.radians(angle_degrees))
    start, end = (
        (round(centre - reach.real), round(centre - reach.imag)),
        (round(centre + reach.real), round(centre + reach.imag)),
    )
    cv2.line(kernel, start, end, 1.0, 1)
    return cv2.filter2D(image, -1, kernel / kernel.sum())


def test_a_blurred_real_face_is_judged_and_not_taken_for_a_forgery(detector: ForgeryDetector, real_face) -> None:
    """A host moving, or a camera focused on the product held up, blurs the face. The model before read this held-out
    face blurred along a line 10% of its side as 0.46-0.88 `synthetic`, and defocused by 2.5% of it as 0.968, over
    its 0.96 threshold; the shipped one, fine-tuned on real and fake pictures blurred alike
    (scripts/train_detector.py capture), reads 0.17-0.31 (0.03 sharp)."""
    length = int(0.10 * real_face.side)
    blurred = [motion_blurred(real_face.image, length, angle) for angle in (0, 60, 90, 135)]
    blurred.append(cv2.GaussianBlur(real_face.image, (0, 0), 0.025 * real_face.side))
    for number, image in enumerate(blurred):
        scores = score_one(detector, real_face, image)
        assert scores.judged[0], number
        assert scores.synthetic[0] < min(0.5, detector.synthetic_threshold), (number, scores.synthetic[0])
        assert scores.effects[0] < detector.effects_threshold, (number, scores.effects[0])


def test_a_tightly_cropped_real_photo_is_not_read_as_effects(
    detector: ForgeryDetector, media: Path, engine: FaceEngine
) -> None:
    """An aligned 112-px crop (the face fills the picture; never trained on): judged with its context black on every
    side. The model before scored it 0.99 `effects` once such faces were judged: the black edge read as an effect."""
    image = cv2.imread(str(media / "glint360k_celebs_ElisonSherton" / "Jessica_Alba" / "4911.png"))
    faces = engine.detect(image)
    assert len(faces), "no face found in the aligned crop"
    scores = detector.score(image, faces.boxes, faces.keypoints)
    assert scores.judged.all()
    assert scores.effects.max() < detector.effects_threshold and scores.synthetic.max() < detector.synthetic_threshold


def captioned(face: FaceSample, font: int, place: float, style: str) -> np.ndarray:
    """The face's picture with a subtitle line 18% of the box's height burned in, its middle `place` of the way from
    the mouth to the chin (the box's lower edge): white text with a black outline, or on a translucent black band."""
    image = face.image.copy()
    height = 0.18 * float(face.box[3] - face.box[1])
    scale, thickness = height / 22.0, max(2, round(height / 10))
    text = "LIVE SALE TODAY ONLY  Link below"
    (width, text_height), _ = cv2.getTextSize(text, font, scale, thickness)
    mouth_y = float(face.keypoints[3:5, 1].mean())
    middle = mouth_y + place * (float(face.box[3]) - mouth_y)
    origin = (int((face.box[0] + face.box[2]) / 2 - width / 2), int(middle + text_height / 2))
    if style == "band":
        band = image.copy()
        top_left = (origin[0] - 6, origin[1] - text_height - 6)
        cv2.rectangle(band, top_left, (origin[0] + width + 6, origin[1] + 6), (0, 0, 0), -1)
        image = cv2.addWeighted(band, 0.55, image, 0.45, 0.0)
    else:
        cv2.putText(image, text, origin, font, scale, (0, 0, 0), 3 * thickness, cv2.LINE_AA)
    cv2.putText(image, text, origin, font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
    return image


@pytest.mark.parametrize("font", [cv2.FONT_HERSHEY_PLAIN, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX])
def test_a_captioned_real_face_is_not_read_as_effects(detector: ForgeryDetector, real_face, font: int) -> None:
    """Live rooms and re-uploads burn subtitles in across the lower face. The model before read such text as an AR
    sticker: this held-out face captioned so scored 0.69-0.97 `effects` (0.09 bare), and captions across the mouth
    of real held-out clips raised `likely-effects` (docs/verdicts.md, "Captions over the lower face"). The shipped
    one was fine-tuned with captions drawn on both pictures of each training pair (scripts/train_detector.py
    capture), in other fonts than these two: a caption leaves the face far below the thresholds."""
    for place in (0.0, 0.5, 1.0):
        for style in ("outline", "band"):
            scores = score_one(detector, real_face, captioned(real_face, font, place, style))
            assert scores.judged[0], (place, style)
            assert scores.effects[0] < 0.5, (place, style, scores.effects[0])
            assert scores.synthetic[0] < 0.5, (place, style, scores.synthetic[0])


def ffmpeg_graded(image: np.ndarray, video_filter: str) -> np.ndarray:
    """`image` through one FFmpeg video filter (as a room's colour filter grades the stream), PNG in and out."""
    ok, png = cv2.imencode(".png", image)
    assert ok
    command = ["ffmpeg", "-v", "error", "-f", "png_pipe", "-i", "-", "-vf", video_filter]
    graded = subprocess.run(
        [*command, "-f", "image2pipe", "-c:v", "png", "-"], input=png.tobytes(), capture_output=True
    )
    assert graded.returncode == 0, graded.stderr.decode(errors="replace")
    decoded = cv2.imdecode(np.frombuffer(graded.stdout, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    return decoded


@pytest.mark.parametrize(
    "video_filter",
    ["colorbalance=rm=0.4:gm=-0.4:bm=0.4", "colorbalance=rm=-0.4:gm=0.4:bm=-0.1"],
    ids=["magenta", "green"],
)
def test_a_colour_graded_real_face_is_not_read_as_effects(
    detector: ForgeryDetector, media: Path, engine: FaceEngine, video_filter: str
) -> None:
    """A room's strong colour filter on the midtones turns the face blotchy magenta or green. The model before read
    this held-out face so graded as an effect, 0.995-0.997 `effects` over its 0.98 threshold (docs/verdicts.md,
    "Colour filters"); the shipped one was fine-tuned with both pictures of each training pair graded alike by
    another implementation than FFmpeg's (scripts/train_detector.py capture)."""
    frame, faces = largest_face_at_frame_30(media / "real_talking_heads_video_retalking" / "face_2.mp4", engine)
    scores = detector.score(ffmpeg_graded(frame, video_filter), faces.boxes, faces.keypoints)
    assert scores.judged[0]
    assert scores.effects[0] < 0.7, scores.effects[0]
    assert scores.synthetic[0] < detector.synthetic_threshold, scores.synthetic[0]


@pytest.mark.parametrize("brought_up", [False, True], ids=["dark", "gained"])
def test_a_real_face_in_a_dim_room_is_not_taken_for_a_forgery(
    detector: ForgeryDetector, real_face, brought_up: bool
) -> None:
    """A room lit at a sixth of the light, with the sensor noise of the camera's gain (FFmpeg noise, luma and
    colour), left dark or brought back up as auto exposure does (the noise with it): dim, noisy faces read as more
    synthetic than clean ones (this held-out face 0.11 clean, 0.42 either way with the shipped model), so a
    regression there would accuse every dim live room (docs/verdicts.md, "Low light")."""
    video_filter = "lutrgb=r=val/6:g=val/6:b=val/6,noise=c0s=8:c1s=8:c2s=8:allf=t"
    if brought_up:
        video_filter += ",lutrgb=r=val*6:g=val*6:b=val*6"
    scores = score_one(detector, real_face, ffmpeg_graded(real_face.image, video_filter))
    assert scores.judged[0]
    assert scores.synthetic[0] < 0.7, scores.synthetic[0]
    assert scores.effects[0] < 0.7, scores.effects[0]
