"""What a pack's files may be: zip archives given to `models install --from` that zipfile cannot extract are
refused in one line, not an internal error (exit 4); files in a pack folder that are not regular files are not
read."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import zipfile
from pathlib import Path

import pytest

from impersonation_cli.errors import ModelPackError
from impersonation_cli.runtime import packs
from impersonation_cli.runtime.packs import PackFile, PackSpec, _stage_file, _unzip, install_pack, verify_installed

SPEC = PackSpec("test", "a pack of one file", None, (PackFile("detection", "det.onnx", None, "0" * 64),))
# Offsets of the fields changed below, in a local file header (PK\3\4) and a central directory entry (PK\1\2).
FLAG_OFFSETS = {b"PK\x03\x04": 6, b"PK\x01\x02": 8}
METHOD_OFFSETS = {b"PK\x03\x04": 8, b"PK\x01\x02": 10}


def _archive(path: Path, offsets: dict[bytes, int], value: int, *, set_bit: bool) -> Path:
    """A stored zip of det.onnx with one header field of each entry changed, as another tool would write it."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("det.onnx", b"model bytes")
    data = bytearray(path.read_bytes())
    for signature, offset in offsets.items():
        at = data.find(signature)
        data[at + offset] = (data[at + offset] | value) if set_bit else value
    path.write_bytes(bytes(data))
    return path


def test_a_password_protected_archive_is_refused_in_one_line(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "locked.zip", FLAG_OFFSETS, 0x1, set_bit=True)
    with pytest.raises(ModelPackError, match=r"locked\.zip: det\.onnx is encrypted; give an archive without"):
        _unzip(archive, tmp_path / "out", SPEC)


def test_a_compression_zipfile_lacks_is_refused_in_one_line(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "deflate64.zip", METHOD_OFFSETS, 9, set_bit=False)
    with pytest.raises(ModelPackError, match=r"deflate64\.zip: det\.onnx is compressed with method 9, which cannot"):
        _unzip(archive, tmp_path / "out", SPEC)


def test_an_archive_whose_names_are_not_the_utf8_they_claim_is_refused_in_one_line(tmp_path: Path) -> None:
    # The UTF-8 flag (bit 11 of the flags: 0x08 in their second byte) on a name whose bytes are not UTF-8.
    archive = _archive(tmp_path / "names.zip", {s: o + 1 for s, o in FLAG_OFFSETS.items()}, 0x08, set_bit=True)
    archive.write_bytes(archive.read_bytes().replace(b"det.onnx", b"\xffet.onnx"))
    with pytest.raises(ModelPackError, match=r"names\.zip is a damaged zip archive: 'utf-8' codec can't decode"):
        _unzip(archive, tmp_path / "out", SPEC)


def test_an_archive_of_a_zip_version_zipfile_lacks_is_refused_in_one_line(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "future.zip", {b"PK\x01\x02": 6}, 99, set_bit=False)  # version needed: 9.9
    with pytest.raises(ModelPackError, match=r"future\.zip needs zip file version 9\.9, which cannot be read here"):
        _unzip(archive, tmp_path / "out", SPEC)


@pytest.mark.parametrize("compression", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_a_member_whose_compressed_bytes_are_damaged_is_refused_in_one_line(tmp_path: Path, compression: int) -> None:
    # A bzip2 stream's damage was a bare OSError ('error: Invalid data stream'), an LZMA one's an internal error.
    archive = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive, "w", compression=compression) as written:
        written.writestr("det.onnx", bytes(range(256)) * 40)
    data = bytearray(archive.read_bytes())
    data[30 + len("det.onnx") + 10] ^= 0xFF  # a byte of the member's compressed data
    archive.write_bytes(bytes(data))
    with pytest.raises(ModelPackError, match=r"damaged\.zip is a damaged zip archive: det\.onnx: (Invalid|Corrupt)"):
        _unzip(archive, tmp_path / "out", SPEC)


def test_an_archive_listing_too_many_members_is_refused_before_they_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # zipfile holds every listed member in memory: millions of empty ones in a 2 GiB download took gigabytes.
    monkeypatch.setattr(packs, "MAX_ZIP_DIRECTORY_BYTES", 1 << 10)
    with zipfile.ZipFile(tmp_path / "many.zip", "w") as archive:
        archive.writestr("det.onnx", b"model bytes")
        for n in range(40):
            archive.writestr(f"filler/{n:04}.txt", b"")
    opened = []
    monkeypatch.setattr(zipfile.ZipFile, "_RealGetContents", lambda self: opened.append(self))
    with pytest.raises(ModelPackError, match=r"many\.zip lists \d+ bytes of members, over "):
        _unzip(tmp_path / "many.zip", tmp_path / "out", SPEC)
    assert not opened


def test_a_plain_archive_is_extracted(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "plain.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pack/det.onnx", b"model bytes")
        archive.writestr("../outside.onnx", b"not the pack's")
    found = _unzip(tmp_path / "plain.zip", tmp_path / "out", SPEC)
    assert sorted(p.name for p in found.iterdir()) == ["det.onnx"]
    assert (found / "det.onnx").read_bytes() == b"model bytes"


def _took_too_long(*_args: object) -> None:
    raise TimeoutError("the pack folder's pipe was read")


def test_a_pack_folder_holding_a_pipe_is_verified_without_reading_it(tmp_path: Path) -> None:
    """`models verify`, `models list` and `doctor` read a FIFO named *.onnx (or a link to /dev/zero) in a pack
    not in the manifest to learn its role, and never returned."""
    pack = tmp_path / "models" / "mine"
    pack.mkdir(parents=True)
    os.mkfifo(pack / "det.onnx")
    (pack / "rec.onnx").symlink_to(os.devnull)
    previous = signal.signal(signal.SIGALRM, _took_too_long)
    signal.alarm(10)  # the blocked open() of the pipe is interrupted: a failure, not a hung test run
    try:
        checks = verify_installed("mine", tmp_path / "models")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert [(c.role, c.status) for c in checks] == [("detection", "missing"), ("recognition", "missing")]


def test_a_file_that_fails_verification_is_named_where_it_sits(tmp_path: Path) -> None:
    """Of two copies in a source folder, the refusal named only 'det_500m.onnx': not which one."""
    source = tmp_path / "downloads"
    (source / "old").mkdir(parents=True)
    (source / "old" / "det_500m.onnx").write_bytes(b"an interrupted download")
    with pytest.raises(ModelPackError, match=r"^old/det_500m\.onnx in the source fails verification: sha256 "):
        install_pack("buffalo_sc", str(source), tmp_path / "models")
    assert [p.name for p in (tmp_path / "models").iterdir()] == []


def test_a_copy_that_verifies_is_taken_past_one_that_does_not(tmp_path: Path) -> None:
    """A backup of a models folder holds the pack's int8/ detector under the published name, sorted first:
    installing from it was refused on that copy although the published file was beside it."""
    published = b"the published detector"
    spec = PackFile("detection", "scrfd.onnx", None, hashlib.sha256(published).hexdigest())
    source = tmp_path / "backup" / "pack"
    (source / "int8").mkdir(parents=True)
    (source / "int8" / "scrfd.onnx").write_bytes(b"its int8 copy")
    (source / "scrfd.onnx").write_bytes(published)
    (tmp_path / "staged").mkdir()
    _stage_file(spec, tmp_path / "backup", tmp_path / "staged", lambda _message: None)
    assert (tmp_path / "staged" / "scrfd.onnx").read_bytes() == published


def test_what_is_installed_is_the_file_that_was_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A source file was hashed, then copied by its name: one replaced in between (a folder another user can write)
    was installed unverified. Here it is replaced the moment its hash is taken."""
    published = b"the published detector"
    spec = PackFile("detection", "det.onnx", len(published), hashlib.sha256(published).hexdigest())
    source = tmp_path / "shared"
    source.mkdir()
    (source / "det.onnx").write_bytes(published)
    hashed = packs.sha256_of

    def hash_then_swap(path: Path) -> str:
        digest = hashed(path)
        if path.parent == source:
            path.write_bytes(b"a model put there after its check")
        return digest

    monkeypatch.setattr(packs, "sha256_of", hash_then_swap)
    (tmp_path / "staged").mkdir()
    _stage_file(spec, source, tmp_path / "staged", lambda _message: None)
    assert (tmp_path / "staged" / "det.onnx").read_bytes() == published


def test_a_source_file_larger_than_published_is_not_copied_whole(tmp_path: Path) -> None:
    spec = PackFile("detection", "det.onnx", 11, "0" * 64)
    source = tmp_path / "source"
    source.mkdir()
    with open(source / "det.onnx", "wb") as sparse:  # 1 GiB, of which nothing is on disk
        sparse.truncate(1 << 30)
    (tmp_path / "staged").mkdir()
    with pytest.raises(ModelPackError, match=r"^det\.onnx in the source fails verification: it is over 11 bytes, "):
        _stage_file(spec, source, tmp_path / "staged", lambda _message: None)
    assert list((tmp_path / "staged").iterdir()) == []


def test_a_pipe_named_like_a_pack_file_is_refused_unread(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    os.mkfifo(source / "det.onnx")
    (tmp_path / "staged").mkdir()
    previous = signal.signal(signal.SIGALRM, _took_too_long)
    signal.alarm(10)
    try:
        with pytest.raises(ModelPackError, match=r"det\.onnx is not a regular file \(a device, a pipe, or a link"):
            _stage_file(SPEC.files[0], source, tmp_path / "staged", lambda _message: None)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_member_of_another_size_is_passed_over_for_one_of_the_published_size(tmp_path: Path) -> None:
    """A zip of a models folder holds the int8/ detector under the published name and another size: the archive
    was refused on it ('is N bytes, not the published M') although the published file was in it too."""
    spec = PackSpec("test", "", None, (PackFile("detection", "det.onnx", 11, "0" * 64),))
    with zipfile.ZipFile(tmp_path / "backup.zip", "w") as archive:
        archive.writestr("pack/det.onnx", b"model bytes")
        archive.writestr("pack/int8/det.onnx", b"int8")
    assert (_unzip(tmp_path / "backup.zip", tmp_path / "out", spec) / "det.onnx").read_bytes() == b"model bytes"
    with zipfile.ZipFile(tmp_path / "bomb.zip", "w") as archive:
        archive.writestr("det.onnx", b"far more than the published size")
    with pytest.raises(ModelPackError, match=r"bomb\.zip: det\.onnx is 32 bytes, not the published 11; not extracted"):
        _unzip(tmp_path / "bomb.zip", tmp_path / "out2", spec)
    assert not (tmp_path / "out2").exists()


def test_a_zip_written_with_backslashes_is_read(tmp_path: Path) -> None:
    """Windows PowerShell's Compress-Archive names members 'pack\\det.onnx': the pack's file was not found in it."""
    with zipfile.ZipFile(tmp_path / "windows.zip", "w") as archive:
        archive.writestr("pack\\det.onnx", b"model bytes")
    assert (_unzip(tmp_path / "windows.zip", tmp_path / "out", SPEC) / "det.onnx").read_bytes() == b"model bytes"


def test_a_download_that_is_not_a_zip_is_named_by_its_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The refusal named the temporary file it was saved in ('.../.buffalo_sc-x/source.zip'), deleted by then."""
    monkeypatch.setattr(packs, "_download", lambda _url, target, _progress: target.write_bytes(b"<html>login</html>"))
    url = "https://example.com/pack.zip"
    with pytest.raises(ModelPackError, match=r"^https://example\.com/pack\.zip is a damaged zip archive: File is not"):
        install_pack("buffalo_sc", url, tmp_path / "models")


def test_an_official_download_that_fails_its_hash_is_named_by_its_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packs, "_download", lambda _url, target, _progress: target.write_bytes(b"a mirror's copy"))
    url = packs.known_packs()["buffalo_s"].url
    with pytest.raises(ModelPackError, match=rf"^{re.escape(str(url))} sha256 [0-9a-f]{{64}} is not the published"):
        install_pack("buffalo_s", "official", tmp_path / "models")


def test_of_several_copies_in_an_archive_the_first_that_verifies_is_installed(tmp_path: Path) -> None:
    """A backup zip of a good pack folder and an old one beside it: members are extracted flat, the old copy
    (same size, another hash) replaced the good one, and the install was refused where the folder installed."""
    published, old = b"the published model", b"an older model bytes"[: len(b"the published model")]
    spec = PackSpec(
        "test", "", None, (PackFile("detection", "det.onnx", len(published), hashlib.sha256(published).hexdigest()),)
    )
    for order in (("good", "zz_old"), ("aa_old", "good")):
        with zipfile.ZipFile(tmp_path / "backup.zip", "w") as archive:
            for folder in order:
                archive.writestr(f"{folder}/det.onnx", published if folder == "good" else old)
        out, staged = tmp_path / "out", tmp_path / "staged"
        staged.mkdir(exist_ok=True)
        _stage_file(spec.files[0], _unzip(tmp_path / "backup.zip", out, spec), staged, lambda _message: None)
        assert (staged / "det.onnx").read_bytes() == published, order
        for leftover in (out, staged):
            for path in sorted(leftover.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()


def test_a_dangling_link_sorted_before_the_published_copy_does_not_hide_it(tmp_path: Path) -> None:
    published = b"the published model"
    spec = PackFile("detection", "det.onnx", len(published), hashlib.sha256(published).hexdigest())
    (tmp_path / "backup" / "good").mkdir(parents=True)
    (tmp_path / "backup" / "a_old").mkdir()
    (tmp_path / "backup" / "a_old" / "det.onnx").symlink_to(tmp_path / "gone")
    (tmp_path / "backup" / "good" / "det.onnx").write_bytes(published)
    (tmp_path / "staged").mkdir()
    _stage_file(spec, tmp_path / "backup", tmp_path / "staged", lambda _message: None)
    assert (tmp_path / "staged" / "det.onnx").read_bytes() == published
