"""What every command shares: --version, shell completion, --quiet, `doctor`, help texts that read well, output
that a pipe receives one record per line, and control characters escaped in everything printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from impersonation_cli import __version__
from impersonation_cli.cli import app
from impersonation_cli.outputs.console import printable
from impersonation_cli.runtime.packs import known_packs

from ..conftest import run_cli
from ..unit.cli_in_process import run_cli as run_cli_in_process

ESCAPE = "\x1b[2J"


def piped_env(cli_env: dict[str, str]) -> dict[str, str]:
    """The CLI's environment as a pipe sees it: no COLUMNS telling rich a width."""
    env = dict(cli_env)
    env.pop("COLUMNS", None)
    return env


def leaf_commands(command: object, path: str = "") -> list[tuple[str, object]]:
    children = getattr(command, "commands", None)
    if not children:
        return [(path, command)]
    return [leaf for name, sub in children.items() for leaf in leaf_commands(sub, f"{path} {name}".strip())]


def test_version_and_shell_completion() -> None:
    version = subprocess.run([sys.executable, "-m", "impersonation_cli", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == f"impersonation-cli {__version__}"
    # Typer detects the shell from the process tree, which a test runner may not have: name it instead.
    naming = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    shown = subprocess.run(
        [sys.executable, "-m", "impersonation_cli", "--show-completion", "bash"], env=naming, capture_output=True,
        text=True,
    )  # fmt: skip
    assert shown.returncode == 0 and "_IMPERSONATION_CLI_COMPLETE" in shown.stdout, shown.stderr
    env = {**os.environ, "_IMPERSONATION_CLI_COMPLETE": "complete_bash", "COMP_WORDS": "impersonation-cli doc"}
    completed = subprocess.run(
        [sys.executable, "-m", "impersonation_cli"], env={**env, "COMP_CWORD": "1"}, capture_output=True, text=True
    )
    assert completed.stdout.split() == ["doctor"], completed


def test_every_command_takes_quiet() -> None:
    commands = leaf_commands(typer.main.get_command(app))
    assert len(commands) > 20
    missing = [path for path, command in commands if "--quiet" not in {o for p in command.params for o in p.opts}]
    assert not missing


def test_help_lists_commands_in_whole_sentences_with_one_placeholder_style() -> None:
    runner = CliRunner()

    def help_of(*args: str) -> str:
        shown = runner.invoke(app, [*args, "--help"], prog_name="impersonation-cli", env={"COLUMNS": "100"})
        assert shown.exit_code == 0, shown.output
        return shown.output

    top = help_of()
    listing = top.split("Commands:", 1)[1]
    entries = re.findall(r"^  (\S+) +(.+(?:\n {4,}.+)*)", listing, flags=re.MULTILINE)
    assert len(entries) >= 9
    for _name, text in entries:
        summary = " ".join(text.split())
        assert not summary.endswith(("...", ",", "the", "(", "-")), summary
    helps = [top, *(help_of(*path.split()) for path, _ in leaf_commands(typer.main.get_command(app)))]
    for text in helps:
        assert "<bool>" not in text
        usage = text.splitlines()[0]
        # One placeholder style, click's [OPTIONS] COMMAND: upper case ({required} and [optional] are Typer's).
        placeholders = re.findall(r"[{\[]([^}\]]+)[}\]]", usage.split(" ", 2)[2])
        assert placeholders and all(p.isupper() for p in placeholders), usage
    assert "[env IMPERSONATION_GALLERY]" in help_of("scan")  # rich markup used to swallow it as a style tag


def test_doctor_reports_models_provider_int8_gallery_and_tools(cli_env: dict[str, str], pack_name: str) -> None:
    run = run_cli(["doctor"], piped_env(cli_env))
    assert run.returncode == 0, run.stdout + run.stderr
    lines = {line.split()[1]: line for line in run.stdout.splitlines() if len(line.split()) > 1}
    assert pack_name in lines["models"] and lines["models"].startswith("ok")
    assert lines["pack"].startswith("ok") and "CPUExecutionProvider" in lines["provider"]
    assert "int8" in lines and "ffmpeg" in lines
    assert lines["gallery"].startswith("warning") and "does not exist yet" in lines["gallery"]
    broken = run_cli(["doctor", "--models", "/nonexistent/models"], piped_env(cli_env))
    assert broken.returncode == 1 and "problem  models" in broken.stdout


def test_piped_output_is_one_record_per_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    env = piped_env(cli_env)
    listed = run_cli(["models", "list"], env)
    assert listed.returncode == 0, listed.stderr
    for name, spec in known_packs().items():
        assert any(name in line and spec.description in line for line in listed.stdout.splitlines()), name
    deep = tmp_path / ("a-rather-long-folder-name-" * 4) / "gallery.sqlite"
    doctor = run_cli(["doctor", "--gallery", str(deep)], env)
    assert any(str(deep) in line and "does not exist yet" in line for line in doctor.stdout.splitlines())
    missing = tmp_path / ("a-result-file-with-a-long-name-" * 4 + ".json")
    failed = run_cli_in_process("report", str(missing), "--html", str(tmp_path / "r.html"), env=env)
    assert failed.returncode == 2 and len(failed.stderr.strip().splitlines()) == 1, failed.stderr


def test_control_characters_are_escaped_in_everything_printed(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert printable(f"douyin:a{ESCAPE}\u202eb\nc") == "douyin:a\\x1b[2J\\u202eb\\x0ac"
    hostile = tmp_path / f"x{ESCAPE}y.json"
    failed = run_cli_in_process("report", str(hostile), "--html", str(tmp_path / "r.html"), env=cli_env)
    assert failed.returncode == 2 and "\x1b" not in failed.stderr and "x\\x1b[2Jy.json" in failed.stderr
    doctor = run_cli(["doctor", "--gallery", str(tmp_path / f"g{ESCAPE}.sqlite")], piped_env(cli_env))
    assert "\x1b" not in doctor.stdout and "g\\x1b[2J.sqlite" in doctor.stdout
