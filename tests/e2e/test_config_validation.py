"""Config and rooms files (issue 13): out-of-range values named by key, bombs and binary files refused fast in
one line, and the config file found without --config."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from impersonation_cli.config import load_config
from impersonation_cli.errors import UserError
from impersonation_cli.gallery.store import Gallery
from impersonation_cli.io.rooms import load_rooms

from ..conftest import SAMPLES, run_cli
from ..unit.cli_in_process import run_cli as run_cli_in_process

SAMPLE_CLIP = SAMPLES / "clips" / "astronaut_live.mp4"

# (TOML, words of the refusal): each used to load, and the scan then found nobody (rc 0) or never ended.
OUT_OF_RANGE = [
    ("[match]\nthreshold = 1.5", "config [match] threshold must be at most 1, not 1.5"),
    ("[match]\nthreshold = -0.2", "config [match] threshold must be above 0"),
    ("[scan]\nfps = 0", "config [scan] fps must be above 0, not 0"),
    ("[scan]\nfps = -1", "config [scan] fps must be above 0"),
    ("[scan]\nfps = nan", "config [scan] fps must be a finite number, not nan"),
    ("[scan]\nfps = inf", "config [scan] fps must be a finite number, not inf"),
    ("[scan]\nmerge_gap_s = -4.0", "config [scan] merge_gap_s must be at least 0"),
    ("[scan]\nmin_appearance_frames = 0", "config [scan] min_appearance_frames must be at least 1"),
    ("[signals]\nmin_frames = 0", "config [signals] min_frames must be at least 1"),
    ("[detector]\ninput_size = 0", "config [detector] input_size must be at least 32"),
    ("[detector]\ninput_size = 650", "config [detector] input_size must be a multiple of 32"),
    ("[detector]\nthreshold = 2", "config [detector] threshold must be at most 1"),
    ("[detector]\nregion_margin = -0.5", "config [detector] region_margin must be at least 0"),
    ('[detector]\ncloseup_pass = "no"', "config [detector] closeup_pass must be true or false"),
    ("[tracker]\nmax_gap_s = -1", "config [tracker] max_gap_s must be at least 0"),
    ("[match]\nmargin = -0.1", "config [match] margin must be at least 0"),
    ("[verdicts]\nrisk_synthetic = 1.5", "config [verdicts] risk_synthetic must be at most 1"),
    ("[replay]\nfootage_fps = 0", "config [replay] footage_fps must be above 0"),
    ("[signals]\nidentity_jitter = [0.2, inf]", "config [signals] identity_jitter must be [low, high], two finite"),
    ("[scan]\nmin_appearance_frames = 2.5", "config [scan] min_appearance_frames must be a whole number"),
    ("scan = 3", "config [scan] must be a table of settings"),
]


@pytest.mark.parametrize(("toml", "words"), OUT_OF_RANGE, ids=[t for t, _ in OUT_OF_RANGE])
def test_out_of_range_settings_are_refused_naming_the_key(toml: str, words: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml + "\n", encoding="utf-8")
    with pytest.raises(UserError) as refused:
        load_config(path)
    assert words in str(refused.value) and "\n" not in str(refused.value)


def test_the_cli_refuses_a_bad_setting_in_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[scan]\nfps = 0\n", encoding="utf-8")
    result = run_cli_in_process("scan", str(SAMPLE_CLIP), "--config", str(path), env=cli_env)
    assert result.returncode == 2 and result.stderr == "error: config [scan] fps must be above 0, not 0\n"


def test_settings_within_range_still_load(tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text("[scan]\nfps = 1\n[detector]\ninput_size = 320\n[match]\nthreshold = 0.5\n", encoding="utf-8")
    config = load_config(path)
    assert (config.scan.fps, config.detector.input_size, config.match.threshold) == (1.0, 320, 0.5)


def _billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    return "\n".join([*lines, "rooms: *i", ""])


def test_a_billion_laughs_rooms_file_fails_fast(cli_env: dict[str, str], tmp_path: Path) -> None:
    """9^9 items by aliases: `scan --rooms` hung and `watch` died of MemoryError."""
    bomb = tmp_path / "rooms.yaml"
    bomb.write_text(_billion_laughs(), encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(UserError, match="YAML aliases"):
        load_rooms(bomb)
    assert time.monotonic() - started < 1.0
    for command in (["scan", "--rooms", str(bomb)], ["watch", str(bomb)]):
        result = run_cli(command, cli_env, timeout=60)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.count("\n") == 1 and "YAML aliases" in result.stderr, result.stderr


def test_huge_and_binary_files_are_refused_in_one_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    binary = tmp_path / "binary.toml"
    binary.write_bytes(bytes(range(256)) * 8)
    binary_rooms = tmp_path / "rooms.yaml"
    binary_rooms.write_bytes(b"rooms:\n  - url: a.mp4\n    room: douyin:1\n\xff\xfe\x00")
    huge = tmp_path / "huge.toml"
    huge.write_text("# padding\n" * 200_000, encoding="utf-8")
    cases = [
        (["scan", str(SAMPLE_CLIP), "--config", str(binary)], "is not UTF-8 text"),
        (["scan", "--rooms", str(binary_rooms)], "is not UTF-8 text"),
        (["scan", str(SAMPLE_CLIP), "--config", str(huge)], "is over 1 MiB"),
        (["scan", str(SAMPLE_CLIP), "--config", "/dev/zero"], "is over 1 MiB"),
        (["scan", "--rooms", "/dev/zero"], "is over 1 MiB"),
    ]
    for command, words in cases:
        result = run_cli(command, cli_env, timeout=60)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.count("\n") == 1 and words in result.stderr, result.stderr


def _rooms(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rooms.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rooms_files_refuse_unknown_keys_and_wrong_types(tmp_path: Path) -> None:
    entry = "rooms:\n  - url: a.mp4\n    room: douyin:1\n"
    with pytest.raises(UserError, match=r"entry 1 has unknown keys: lable"):
        load_rooms(_rooms(tmp_path, entry + "    lable: Main\n"))
    with pytest.raises(UserError, match=r"has unknown keys: room"):
        load_rooms(_rooms(tmp_path, entry + "room: douyin:2\n"))
    with pytest.raises(UserError, match=r"entry 1: url must be text"):
        load_rooms(_rooms(tmp_path, "rooms:\n  - url: [a.mp4]\n    room: douyin:1\n"))
    with pytest.raises(UserError, match=r"needs a time zone offset"):
        load_rooms(_rooms(tmp_path, entry + "    started_at: 2026-11-20 20:00:00\n"))
    assert load_rooms(_rooms(tmp_path, entry + "    label: Main\n"))[0].label == "Main"


def test_config_is_found_in_the_working_folder_then_the_user_folder(
    cli_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--config, then $IMPERSONATION_CONFIG, then ./impersonation-cli.toml, then the user config folder."""
    user_config = Path(cli_env["XDG_CONFIG_HOME"]) / "impersonation-cli" / "config.toml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text("[scan]\nfps = 3\n", encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_CONFIG_HOME", cli_env["XDG_CONFIG_HOME"])
    monkeypatch.delenv("IMPERSONATION_CONFIG", raising=False)
    assert load_config().scan.fps == 3.0 and load_config().path == str(user_config)
    (work / "impersonation-cli.toml").write_text("[scan]\nfps = 4\n", encoding="utf-8")
    assert load_config().scan.fps == 4.0
    named = tmp_path / "named.toml"
    named.write_text("[scan]\nfps = 5\n", encoding="utf-8")
    monkeypatch.setenv("IMPERSONATION_CONFIG", str(named))
    assert load_config().scan.fps == 5.0
    option = tmp_path / "option.toml"
    option.write_text("[scan]\nfps = 6\n", encoding="utf-8")
    assert load_config(option).scan.fps == 6.0
    # The CLI finds them too: a bad discovered file is refused naming it.
    (work / "impersonation-cli.toml").write_text("[scan]\nfps = 0\n", encoding="utf-8")
    command = [sys.executable, "-m", "impersonation_cli", "scan", str(SAMPLE_CLIP)]
    result = subprocess.run(command, env=cli_env, cwd=work, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2 and "config [scan] fps must be above 0" in result.stderr, result.stderr


@pytest.mark.parametrize(("options", "fps"), [([], 4.0), (["--fps", "1"], 1.0)], ids=["config", "option"])
def test_watch_samples_at_the_configured_scan_fps_unless_its_option_says(
    cli_env: dict[str, str], tmp_path: Path, options: list[str], fps: float
) -> None:
    """`[scan] fps` is the one rate: watch ignored it and sampled at its own default of 1 frame a second."""
    Gallery(Path(cli_env["IMPERSONATION_GALLERY"])).close()
    config, summary = tmp_path / "fps.toml", tmp_path / "summary.json"
    config.write_text("[scan]\nfps = 4\n", encoding="utf-8")
    args = ["watch", str(SAMPLE_CLIP), "--duration", "4s", "--config", str(config), "--json", str(summary), *options]
    result = run_cli(args, cli_env)
    assert result.returncode in (0, 1), result.stderr
    settings = json.loads(summary.read_text(encoding="utf-8"))["settings"]
    assert settings["fps"] == fps
    # The reader sampled at that rate: about 16 frames in 4 s at 4 fps, about 4 at 1.
    sampled = settings["rooms"][0]["frames_sampled"]
    assert sampled >= 10 if fps == 4.0 else sampled <= 6, sampled
