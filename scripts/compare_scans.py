"""Scan clips through the public Python API and compare each result with the JSON the CLI wrote for it.

    python scripts/compare_scans.py --gallery gallery.sqlite --cli-dir /tmp/cli-json [CLIP ...]

With no CLIP, every video of the shared media ($IMPERSONATION_SHARED/media/MANIFEST.tsv) is compared. The CLI's
JSON of a clip is read from --cli-dir; a clip without one there is scanned by the CLI now (`impersonation-cli
scan CLIP --json ...`) and its JSON kept there. So the check "same results before and after a change" is:
fill --cli-dir at the old commit (`--cli-only`), then run again at the new one. Models, pack and config come
from the options or the environment, the same for both. Ignored: the run's timing (`run`) and evidence paths;
everything else, ids and every float included, must be identical. Exits 1 if any clip differs.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from impersonation_cli import Scanner

REPO = Path(__file__).resolve().parents[1]
# Keys whose values differ between two identical scans (timing) or between output folders (evidence paths).
IGNORED = {("run",), ("appearances", "*", "evidence", "path")}


def shared_videos(shared: Path) -> list[Path]:
    with open(shared / "media" / "MANIFEST.tsv", encoding="utf-8", newline="") as stream:
        rows = csv.DictReader(stream, delimiter="\t")
        return [shared / "media" / row["file"] for row in rows if row["kind"] == "video"]


def json_name(clip: Path) -> str:
    """A file name for a clip's JSON that stays apart from other clips of the same name in other folders."""
    return "__".join(clip.resolve().parts[-3:]) + ".json"


def cli_document(clip: Path, args: argparse.Namespace) -> dict[str, Any]:
    saved = args.cli_dir / json_name(clip)
    if not saved.is_file():
        command = [sys.executable, "-m", "impersonation_cli", "scan", str(clip), "--json", str(saved), "-q"]
        command += _shared_options(args)
        if args.fps is not None:
            command += ["--fps", str(args.fps)]
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
        if finished.returncode not in (0, 1, 3) or not saved.is_file():
            raise SystemExit(f"error: the CLI failed on {clip}: {finished.stderr.strip()}")
    return json.loads(saved.read_text(encoding="utf-8"))


def _shared_options(args: argparse.Namespace) -> list[str]:
    options = ["--gallery", str(args.gallery)]
    for flag, value in (("--models", args.models), ("--pack", args.pack), ("--config", args.config)):
        if value is not None:
            options += [flag, str(value)]
    return options


def differences(cli: Any, api: Any, path: tuple[str, ...] = ()) -> Iterator[str]:
    """Every place where the two documents differ, as 'path: cli value != api value'."""
    if _ignored(path):
        return
    if isinstance(cli, dict) and isinstance(api, dict):
        for key in sorted(set(cli) | set(api)):
            yield from differences(cli.get(key, "<absent>"), api.get(key, "<absent>"), (*path, str(key)))
    elif isinstance(cli, list) and isinstance(api, list) and len(cli) == len(api):
        for number, (left, right) in enumerate(zip(cli, api, strict=True)):
            yield from differences(left, right, (*path, str(number)))
    elif cli != api:
        yield f"{'.'.join(path)}: cli {json.dumps(cli)[:200]} != api {json.dumps(api)[:200]}"


def _ignored(path: tuple[str, ...]) -> bool:
    return any(
        len(pattern) == len(path) and all(p in ("*", part) for p, part in zip(pattern, path, strict=True))
        for pattern in IGNORED
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="*", type=Path, help="clips to compare (default: every shared video)")
    parser.add_argument("--gallery", type=Path, required=True, help="the gallery both scans match against")
    parser.add_argument("--cli-dir", type=Path, required=True, help="the CLI's JSON per clip (made when missing)")
    parser.add_argument("--models", type=Path, help="model folder [env IMPERSONATION_MODELS]")
    parser.add_argument("--pack", help="pack name or folder [env IMPERSONATION_PACK]")
    parser.add_argument("--config", type=Path, help="TOML settings [env IMPERSONATION_CONFIG]")
    parser.add_argument("--fps", type=float, help="frames sampled per second [default: config]")
    parser.add_argument("--cli-only", action="store_true", help="only fill --cli-dir (run at the old commit)")
    args = parser.parse_args()
    shared = Path(os.environ.get("IMPERSONATION_SHARED", REPO.parent / "shared"))
    clips = args.clips or shared_videos(shared)
    args.cli_dir.mkdir(parents=True, exist_ok=True)
    if args.cli_only:
        for clip in clips:
            cli_document(clip, args)
        print(f"{len(clips)} CLI results in {args.cli_dir}")
        return 0
    differing = 0
    with Scanner.open(models=args.models, pack=args.pack, gallery=args.gallery, config=args.config) as scanner:
        for clip in clips:
            expected = cli_document(clip, args)
            # Through JSON, as the CLI's document went: tuples become lists, keys strings.
            found = json.loads(scanner.scan([str(clip)], fps=args.fps).to_json())
            lines = list(differences(expected, found))
            differing += bool(lines)
            appearances = ", ".join(f"{a['identity']} {a['start_s']}-{a['end_s']}s" for a in found["appearances"])
            print(f"{'DIFFERS' if lines else 'same   '} {clip} ({appearances or 'nobody'})")
            for line in lines:
                print(f"    {line}")
    print(f"{len(clips)} clips: {len(clips) - differing} identical, {differing} different")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
