"""Takedown drafts and evidence crops are named after their room, source and person in any script: a Chinese room
was `takedown-x-<hash>.md`, unreadable. Names stay safe: no separator, control, bidi, zero-width or shell- or
Windows-special character, and bounded in bytes (a file name holds 255)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from impersonation_cli.outputs.evidence import save_evidence, slug, source_slug
from impersonation_cli.outputs.evidence_files import VERIFIED, check_evidence
from impersonation_cli.outputs.notice import notice_file_name
from impersonation_cli.results import Evidence

from .builders import source


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def test_names_keep_letters_of_any_script() -> None:
    recording = "/rec/直播回放 第1场.mp4"
    named = notice_file_name(source(recording, room="douyin:王小明的直播间"))
    assert named == f"takedown-douyin_王小明的直播间-直播回放_第1场-{_hash(recording)}.md"
    assert slug("हिन्दी समाचार") == "हिन्दी_समाचार"  # vowel signs (marks) kept: the word reads whole
    assert slug("Ann A") == "Ann_A" and slug("a_ b") == "a__b"  # ASCII names as before


def test_names_stay_safe_and_bounded() -> None:
    hostile = 'a/b\\c:d*e?f"g<h>i|j$k`l;m&n\x1bo\u202ep\u200bq\ufeffr.s\u3000t\U0001f600u\udcffv'
    assert slug(hostile, 100) == "a_b_c_d_e_f_g_h_i_j_k_l_m_n_o_p_q_r_s_t_u_v"
    assert slug("..") == "x" and slug("-rf") == "rf"  # an evidence folder '-rf-<hash>' read as options by `rm *`
    long = slug("房" * 100)
    assert long == "房" * 13 and len(long.encode()) <= 40  # a character is never cut in half
    assert len(notice_file_name(source("/r/" + "𠀀" * 200 + ".mp4", room="x:" + "房" * 200)).encode()) <= 120


def test_crops_named_in_any_script_and_crops_of_old_names_are_verified(tmp_path: Path) -> None:
    crop = np.full((8, 8, 3), 128, dtype=np.uint8)
    box = np.array([0.0, 0.0, 8.0, 8.0])
    saved = save_evidence(tmp_path / "ev", "/rec/直播.mp4", "s1-a1", "王小明", crop, 3.0, box)
    assert saved.sha256 is not None
    name = f"s1-a1_王小明_00003.00s_{saved.sha256[:8]}.jpg"
    assert saved.path == str(tmp_path / "ev" / f"直播-{_hash('/rec/直播.mp4')}" / name)
    assert check_evidence(saved, tmp_path).status == VERIFIED
    # A result written before keeps the ASCII-only path it recorded: found there as before.
    old = tmp_path / "ev" / f"x-{_hash('/rec/直播.mp4')}" / "s1-a1_x_00003.00s.jpg"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"\xff\xd8\xff old crop")
    recorded = Evidence(str(old), hashlib.sha256(old.read_bytes()).hexdigest(), 3.0, [0.0, 0.0, 8.0, 8.0])
    assert check_evidence(recorded, tmp_path).status == VERIFIED
    as_bytes = hashlib.sha256(b"/x/\xff.mp4").hexdigest()[:8]
    assert source_slug("/x/\udcff.mp4") == f"x-{as_bytes}"  # a file name that is not UTF-8: its bytes' hash


def test_a_later_scans_crop_of_the_same_appearance_never_replaces_one_a_result_cites(tmp_path: Path) -> None:
    # Two scans of one file into one evidence folder (at --fps 2, then 6) found the same appearance at the same
    # time in another box: the second crop replaced the first, which the first result's notice then called changed.
    box = np.array([0.0, 0.0, 8.0, 8.0])
    first, second, again = (
        save_evidence(tmp_path, "/rec/a.mp4", "s1-a1", "Ann", np.full((8, 8, 3), grey, np.uint8), 5.01, box)
        for grey in (100, 200, 100)
    )
    assert first.path is not None and second.path is not None and first.path != second.path
    assert check_evidence(first, tmp_path).status == VERIFIED and check_evidence(second, tmp_path).status == VERIFIED
    assert again.path == first.path and again.sha256 == first.sha256  # the same picture: the same file, unchanged
