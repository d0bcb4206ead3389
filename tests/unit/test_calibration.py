"""`gallery calibrate` on a gallery where every same-person pair would be rejected: it used to write that
threshold with exit 0 while printing that 100% of genuine pairs fall below it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from impersonation_cli.errors import UserError
from impersonation_cli.gallery.store import Gallery, GalleryIndex, ReferenceFace
from impersonation_cli.tools import pair_scores
from impersonation_cli.tools.evaluation import (
    SHOWN_QUANTILES,
    Calibration,
    calibrate,
    unusable_threshold,
    write_calibration,
)

from .cli_in_process import run_cli

MINE = "# my settings\n[scan]\nfps = 1.0\n"


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def _reference(number: int, embedding: np.ndarray) -> ReferenceFace:
    return ReferenceFace(f"{number:064x}", f"{number}.jpg", "w600k_mbf.onnx:0", _unit(embedding), 120.0, 0.9, 80.0, 1)


@pytest.fixture()
def crossed_gallery(tmp_path: Path) -> Path:
    """Two people whose photos pair up across them: each of Ann's is like one of Bob's, not like her other one."""
    rng = np.random.default_rng(0)
    faces = [_unit(rng.normal(size=512)) for _ in range(2)]
    path = tmp_path / "g.sqlite"
    with Gallery(path) as store:
        for person, name in enumerate(("Ann A", "Bob B")):
            references = [_reference(10 * person + k, faces[k] + 0.05 * rng.normal(size=512)) for k in range(2)]
            store.add_person(name, references)
    return path


def refused_and_left(tmp_path: Path, result: Calibration, reason: str) -> None:
    """Writing `result` to a config of the user's is refused for `reason` (a pattern), and the file left as it was."""
    mine = tmp_path / "mine.toml"
    mine.write_text(MINE, encoding="utf-8")
    with pytest.raises(UserError, match=reason):
        write_calibration(mine, result)
    assert mine.read_text(encoding="utf-8") == MINE


def test_a_threshold_rejecting_every_genuine_pair_is_not_written(crossed_gallery: Path, tmp_path: Path) -> None:
    with Gallery(crossed_gallery, read_only=True) as store:
        result = calibrate(store.index(), 0.1)
    assert result.genuine.scores.max() < result.threshold
    refused_and_left(
        tmp_path, result, r"rejects most of their own reference pairs for 2 of the 2 people .*; not written"
    )
    mine = tmp_path / "mine.toml"
    command = ["gallery", "calibrate", "--gallery", str(crossed_gallery)]
    written = run_cli(*command, "--target-fmr", "0.1", "--write", str(mine))
    assert written.returncode == 2, written.stderr
    assert "100.0% of them fall below the threshold" in written.stdout
    assert written.stderr.splitlines()[-1].startswith("error: threshold") and "not written" in written.stderr
    assert mine.read_text(encoding="utf-8") == MINE
    shown = run_cli(*command, "--target-fmr", "0.1")
    assert shown.returncode == 0 and "warning: threshold" in shown.stderr, shown.stderr
    # --quiet silences notes, not the warning that the threshold printed must not be used.
    quiet = run_cli(*command, "--target-fmr", "0.1", "--quiet")
    assert quiet.returncode == 0 and "warning: threshold" in quiet.stderr, quiet.stderr


def two_people_calibrated(tmp_path: Path, rate: float) -> Calibration:
    """Two people of two photos each, calibrated for `rate`."""
    rng = np.random.default_rng(1)
    with Gallery(tmp_path / "g.sqlite") as store:
        for person, name in enumerate(("Ann A", "Bob B")):
            face = rng.normal(size=512)
            store.add_person(name, [_reference(10 * person + k, face + 0.3 * rng.normal(size=512)) for k in range(2)])
        return calibrate(store.index(), rate)


def test_a_threshold_that_keeps_genuine_pairs_is_written(tmp_path: Path) -> None:
    result = two_people_calibrated(tmp_path, 0.25)  # their 4 impostor pairs measure a rate of 1/4
    mine = tmp_path / "mine.toml"
    mine.write_text(MINE, encoding="utf-8")
    write_calibration(mine, result)
    assert f"threshold = {result.threshold:.4f}" in mine.read_text(encoding="utf-8")


def test_a_threshold_rejecting_most_genuine_pairs_is_not_written(tmp_path: Path) -> None:
    """References as unlike each other as strangers' (one person's alone alike) wrote a threshold that rejected
    99% of the same-person pairs: scans with it would miss nearly everyone registered."""
    rng = np.random.default_rng(2)
    alike = rng.normal(size=512)
    embeddings = [_unit(alike + 0.01 * rng.normal(size=512)) for _ in range(3)]
    embeddings += [_unit(rng.normal(size=512)) for _ in range(39 * 3)]
    owners = np.repeat(np.arange(40), 3)
    result = calibrate(GalleryIndex(tuple(f"P{n}" for n in range(40)), owners, np.stack(embeddings), None), 0.01)
    genuine = result.genuine.scores
    assert 0.5 * len(genuine) < np.sum(genuine < result.threshold) < len(genuine)
    refused_and_left(
        tmp_path, result, r"rejects most of their own reference pairs for 39 of the 40 people .*; not written"
    )


def test_a_threshold_from_too_few_impostor_pairs_for_the_rate_is_not_written(tmp_path: Path) -> None:
    """Six people's 41 impostor pairs gave 0.1397 for a rate of 0.001, written: a stranger in a group photo then
    matched (0.16) where the default 0.40 matched nobody."""
    result = two_people_calibrated(tmp_path, 0.001)
    refused_and_left(tmp_path, result, r"4 impostor pairs .* cannot measure a rate of 0\.001 \(at least 1000")


@pytest.mark.parametrize(
    "text",
    [
        "[scan]\nmatch.threshold = 0.3\n",  # valid TOML, no valid config: "wrote", and every scan refused it
        "[scan]\nfps = 0\n",
    ],
)
def test_a_file_no_scan_would_read_is_not_written(tmp_path: Path, text: str) -> None:
    from impersonation_cli.config import write_match_threshold

    mine = tmp_path / "mine.toml"
    mine.write_text(text, encoding="utf-8")
    with pytest.raises(
        UserError, match=r"^not written to .*mine.toml, which no scan would read: config (section )?\[scan\]"
    ):
        write_match_threshold(mine, 0.4321)
    assert mine.read_text(encoding="utf-8") == text


@pytest.mark.parametrize(
    "text",
    [
        "match.threshold = 0.3\n",  # a dotted key: a new [match] header made the file invalid TOML
        "match = {threshold = 0.3}\n",
        '[match]\n"threshold" = 0.3\n',  # a quoted key: a second threshold line made it invalid
        'note = """\n[match]\n"""\n',  # the line sat inside a string: "written", yet no threshold was set
    ],
)
def test_a_match_table_the_line_edit_cannot_see_is_refused_and_left_as_it_was(tmp_path: Path, text: str) -> None:
    """The edited file used to be written first and read back after: a valid config became invalid TOML."""
    from impersonation_cli.config import write_match_threshold

    mine = tmp_path / "mine.toml"
    mine.write_text(text, encoding="utf-8")
    with pytest.raises(UserError, match=r"cannot set \[match\] threshold in .*file left as it was"):
        write_match_threshold(mine, 0.4321)
    assert mine.read_text(encoding="utf-8") == text


def test_a_match_header_with_a_comment_is_edited_in_place(tmp_path: Path) -> None:
    from impersonation_cli.config import load_config, write_match_threshold

    mine = tmp_path / "mine.toml"
    mine.write_text("[match]  # mine\nthreshold = 0.3\nmargin = 0.1\n", encoding="utf-8")
    write_match_threshold(mine, 0.4321)
    config = load_config(mine)
    assert (config.match.threshold, config.match.margin) == (0.4321, 0.1)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\xff[match]\n", "is not UTF-8 text"),  # read_text() raised UnicodeDecodeError: an internal error, exit 4
        (b"# " + b"x" * (1 << 20) + b"\n", "is over 1 MiB"),  # /dev/zero was read for ever, filling memory
    ],
)
def test_the_config_to_edit_is_read_as_config_files_are(tmp_path: Path, data: bytes, words: str) -> None:
    from impersonation_cli.config import write_match_threshold

    mine = tmp_path / "mine.toml"
    mine.write_bytes(data)
    with pytest.raises(UserError, match=words):
        write_match_threshold(mine, 0.4321)
    assert mine.read_bytes() == data


def test_a_file_with_windows_line_ends_keeps_them(tmp_path: Path) -> None:
    """Every line of a CRLF file was rewritten with '\\n': the one-line edit changed the whole file."""
    from impersonation_cli.config import write_match_threshold

    mine = tmp_path / "mine.toml"
    mine.write_bytes(b"# mine\r\n[match]\r\nthreshold = 0.3\r\nmargin = 0.1\r\n")
    write_match_threshold(mine, 0.4321)
    assert mine.read_bytes() == (
        b"# mine\r\n[match]\r\nthreshold = 0.4321  # set by `gallery calibrate`\r\nmargin = 0.1\r\n"
    )


def _two_people(tmp_path: Path, second: np.ndarray) -> Path:
    """Ann and Bob, one photo each: a single impostor pair, scoring as `second` is like Ann's face."""
    path = tmp_path / "two.sqlite"
    ann = np.zeros(512)
    ann[0] = 1.0
    with Gallery(path) as store:
        store.add_person("Ann A", [_reference(1, ann)])
        store.add_person("Bob B", [_reference(2, second)])
    return path


@pytest.mark.parametrize(
    ("cosine", "words"),
    [
        (-0.06, r"threshold -0\.0599 is not above 0, as a \[match\] threshold must be"),
        (1.0, r"threshold 1\.0001 is above 1, the highest \[match\] threshold a config takes"),
    ],
)
def test_a_threshold_no_config_takes_is_not_written(tmp_path: Path, cosine: float, words: str) -> None:
    """Two people whose only photos scored -0.057: `calibrate --write` wrote 'threshold = -0.0568' with exit 0, and
    every scan with that config then stopped ('[match] threshold must be at least 0'). One photo under two names
    (cosine 1) made 1.0001, refused the same way."""
    second = np.zeros(512)
    second[0], second[1] = cosine, np.sqrt(1 - cosine**2)
    gallery = _two_people(tmp_path, second)
    with Gallery(gallery, read_only=True) as store:
        result = calibrate(store.index(), 0.001)
    mine = tmp_path / "mine.toml"
    mine.write_text(MINE, encoding="utf-8")
    with pytest.raises(UserError, match=words + r".*; not written to"):
        write_calibration(mine, result)
    assert mine.read_text(encoding="utf-8") == MINE
    shown = run_cli("gallery", "calibrate", "--gallery", str(gallery))
    assert shown.returncode == 0 and "warning: threshold" in shown.stderr, shown.stderr


@pytest.mark.parametrize("rate", [1e-320, 1e-300, 0.0])
def test_a_rate_no_gallery_could_measure_is_refused_in_one_line(tmp_path: Path, rate: float) -> None:
    """1e-320 ended in 'internal error: OverflowError' (exit 4: 1 / 1e-320 is infinite); 1e-300 warned that a
    301-digit count of pairs was needed."""
    gallery = _two_people(tmp_path, np.eye(512)[1])
    with Gallery(gallery, read_only=True) as store, pytest.raises(UserError, match=r"^--target-fmr must be at least"):
        calibrate(store.index(), rate)
    refused = run_cli("gallery", "calibrate", "--gallery", str(gallery), "--target-fmr", str(rate))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr


def test_a_rate_so_large_that_the_threshold_falls_to_0_says_so(tmp_path: Path) -> None:
    """At --target-fmr 0.6 the threshold fell below 0 because 60% of pairs were to match, and the warning said all
    impostor pairs scored below it, the reverse of the rate printed above it."""
    path = tmp_path / "many.sqlite"
    with Gallery(path) as store:
        for n, cosine in enumerate([-0.2, -0.1, 0.05, 0.1, 0.2]):
            face = np.zeros(512)
            face[0], face[n + 1] = cosine, np.sqrt(1 - cosine**2)
            store.add_person(f"P{n}", [_reference(n + 1, face)])
    with Gallery(path, read_only=True) as store:
        result = calibrate(store.index(), 0.9)
    problem = unusable_threshold(result)
    assert result.threshold <= 0 and problem is not None
    assert "lets pairs of different people scoring down to it match; ask for a smaller --target-fmr" in problem


def naive_calibration(index: GalleryIndex, target_fmr: float) -> tuple[float, np.ndarray, np.ndarray]:
    """The threshold as calibrate found it when it held every pair at once, and the pairs (impostor, genuine)."""
    similarity = index.embeddings @ index.embeddings.T
    upper = np.triu(np.ones_like(similarity, dtype=bool), k=1)
    same = index.owners[:, None] == index.owners[None, :]
    impostor, genuine = similarity[upper & ~same], similarity[upper & same]
    ranked = np.sort(impostor)[::-1]
    threshold = float(np.ceil((float(ranked[int(np.floor(target_fmr * len(impostor)))]) + 1e-6) * 10_000) / 10_000)
    return threshold, impostor, genuine


@pytest.mark.parametrize("target_fmr", [0.001, 0.01, 0.3])
def test_scored_a_block_at_a_time_calibration_finds_what_every_pair_at_once_found(
    target_fmr: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held at once, a 5,000-person gallery's pairs took 1.57 GB; scored a block of rows at a time, the threshold,
    the rate it gets and the figures shown are the same, exactly."""
    monkeypatch.setattr(pair_scores, "BLOCK_ROWS", 37)  # many blocks, one cut inside a person's references
    rng = np.random.default_rng(1)
    people = 120
    centres = rng.normal(size=(people, 512))
    owners = np.repeat(np.arange(people), 3)
    embeddings = np.stack([_unit(centres[o] + 0.9 * rng.normal(size=512)) for o in owners])
    index = GalleryIndex(tuple(f"P{n}" for n in range(people)), owners, embeddings, None)
    result = calibrate(index, target_fmr)
    threshold, impostor, genuine = naive_calibration(index, target_fmr)
    assert result.threshold == threshold
    assert result.achieved_fmr == np.mean(impostor >= threshold)
    assert result.impostor.count == len(impostor) and result.impostor.max == float(impostor.max())
    assert np.allclose(result.impostor_quantiles, np.quantile(impostor, SHOWN_QUANTILES), rtol=0, atol=1e-6)
    assert abs(result.impostor.mean - impostor.mean()) < 1e-6 and abs(result.impostor.sd - impostor.std()) < 1e-6
    assert sorted(result.genuine.scores.tolist()) == sorted(genuine.tolist())
    assert sorted(result.genuine.owners.tolist()) == sorted(np.repeat(np.arange(people), 3).tolist())


def test_the_share_of_people_whose_own_pairs_are_rejected_decides_not_the_share_of_pairs() -> None:
    """One person of 40 unlike references has 780 pairs, 200 people of two alike references 200: counted by
    pairs, 200 people matched well were 'most people missed', and the other way round a threshold missing 190
    people was written."""
    rng = np.random.default_rng(3)

    def index(people: int, alike: bool) -> GalleryIndex:
        """`people` people of two references (alike, or as unlike as strangers'), then one of 40 the other way."""

        def references(count: int, like_each_other: bool) -> list[np.ndarray]:
            centre = rng.normal(size=512)
            return [
                _unit(centre + 0.1 * rng.normal(size=512) if like_each_other else rng.normal(size=512))
                for _ in range(count)
            ]

        faces = [face for _ in range(people) for face in references(2, alike)] + references(40, not alike)
        owners = np.array([*np.repeat(np.arange(people), 2), *[people] * 40])
        return GalleryIndex(tuple(f"P{n}" for n in range(people + 1)), owners, np.stack(faces), None)

    well_matched = calibrate(index(200, alike=True), 0.001)
    assert np.mean(well_matched.genuine.scores < well_matched.threshold) > 0.5  # most pairs: the one person's
    assert unusable_threshold(well_matched) is None
    missed = calibrate(index(200, alike=False), 0.001)
    assert np.mean(missed.genuine.scores < missed.threshold) < 0.5  # most pairs: the one person's, kept
    assert "rejects most of their own reference pairs" in (unusable_threshold(missed) or "")


def test_a_score_equal_to_the_threshold_in_float32_is_counted_as_the_matcher_matches_it() -> None:
    """A threshold lies on a bin's edge (both multiples of 1e-4), and float32's 0.1343 (0.13429999) in the bin
    below: 'threshold 0.1343: 0.0000% of impostor pairs match' where one of them did."""
    score = np.float32(0.1343)
    faces = np.zeros((3, 512), np.float32)
    faces[0, 0], faces[1, 0], faces[1, 1], faces[2, 2] = 1.0, score, np.sqrt(1 - score * score), 1.0
    impostor, _ = pair_scores.score_pairs(GalleryIndex(("A", "B", "C"), np.arange(3), faces, None))
    assert impostor.at_least(0.1343) == int(np.sum(np.array([score, 0, 0], np.float32) >= 0.1343)) == 1
