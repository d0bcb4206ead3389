"""Shared CLI plumbing: the Typer app, its consoles, what every command has (--quiet, help summaries), error
handling, and how the library's notices are said."""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import os
import signal
import sys
import threading
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from impersonation_cli import __version__
from impersonation_cli.cli.options import Quiet
from impersonation_cli.errors import EXIT_INTERRUPTED, EXIT_USAGE, UserError, interrupted, path_parser
from impersonation_cli.io.atomic_write import goes_to_stdout
from impersonation_cli.outputs.console import SafeConsole, escape_unencodable, one_line, printable, shortened

app = typer.Typer(
    name="impersonation-cli",
    help="Find registered celebrities in recordings and live rooms and flag likely impersonation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: rich markup mode read '[env IMPERSONATION_GALLERY]' in option help as a style tag and dropped it.
    rich_markup_mode=None,
)
stdout = SafeConsole()
stderr = SafeConsole(stderr=True)
# Errors have their own console: --quiet silences stderr's notes, warnings and progress, never an error.
errors = SafeConsole(stderr=True)

EXIT_INTERNAL = 4
# Set once a command's own code runs (`_with_quiet`): what ends before it is the CLI's parsing.
command_began = threading.Event()
DEBUG_ENV = "IMPERSONATION_DEBUG"


def _show_version(value: bool) -> None:
    if value:
        stdout.print(f"impersonation-cli {__version__}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _global_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit"),
    ] = False,
) -> None:
    """Find registered celebrities in recordings and live rooms and flag likely impersonation."""


def people_lines_off_stdout(*outputs: Path | None) -> None:
    """Where one of a command's outputs goes to stdout ('-', /dev/stdout), what it prints for people goes to
    stderr: `gallery export /dev/stdout | jq` read 'exported 3 people' glued to the JSON, as scan's table was."""
    if any(goes_to_stdout(path) for path in outputs):
        stdout.stderr = True


def say(line: str) -> None:
    """A note or warning on stderr, on one line whatever names it holds (--quiet silences it)."""
    stderr.print(one_line(line), soft_wrap=True)


def warn(notice: str) -> None:
    """A library's notice for the user (the detector fell back to float, the gallery is empty) as a warning: the
    `on_notice` of `load_engine` and `Scanner.open`, said as each arises."""
    say(f"warning: {notice}")


def done(line: str) -> None:
    """What a command did (`exported 3 people to x.json`), on stdout on one line; --quiet silences it: the requested
    output is the change or the file, not the line saying so (tables and lists asked for go to stdout as they are)."""
    if not is_quiet():
        stdout.print(one_line(line), soft_wrap=True)


def is_quiet() -> bool:
    return stderr.quiet


def set_quiet(quiet: bool) -> None:
    """--quiet: stderr's notes, warnings and progress, and `done` lines, are silenced (errors have their console)."""
    if quiet:
        stderr.quiet = True


def with_conventions(typer_app: typer.Typer) -> None:
    """What every command has, set in one place: --quiet, and a one-line summary in its group's command list
    (the docstring's first sentence: the list used to break mid-sentence)."""
    for info in typer_app.registered_commands:
        if info.callback is not None:
            info.callback = _with_quiet(info.callback)
            if info.short_help is None and info.callback.__doc__:
                info.short_help = summary_line(info.callback.__doc__)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            with_conventions(group.typer_instance)
            # Unset values are Typer's DefaultPlaceholder objects, not None.
            help_text = group.help if isinstance(group.help, str) else group.typer_instance.info.help
            if not isinstance(group.short_help, str) and isinstance(help_text, str):
                group.short_help = summary_line(help_text)


def _with_quiet(command: Callable[..., Any]) -> Callable[..., Any]:
    """`command` with --quiet (unless it has its own: scan's, which also drops the table; both quiet the shared
    consoles), upper-case argument placeholders, as [OPTIONS] and COMMAND are, and paths that refuse '': Typer reads
    them from the signature given here."""
    signature = inspect.signature(command, eval_str=True)
    parameters = [_conventional(p) for p in signature.parameters.values()]
    own_quiet = "quiet" in signature.parameters
    if not own_quiet:
        parameters.append(inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Quiet))

    @functools.wraps(command)
    def conventional(*args: Any, **kwargs: Any) -> Any:
        set_quiet(kwargs["quiet"] if own_quiet else kwargs.pop("quiet"))
        command_began.set()
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:  # Typer ends it with exit 130 and not a word; run_app says 'aborted' of Abort
            raise typer.Abort() from None

    conventional.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    conventional.__annotations__ = {p.name: p.annotation for p in parameters}
    return conventional


def _conventional(parameter: inspect.Parameter) -> inspect.Parameter:
    """A parameter declared as `Annotated[T, typer.Argument(...)]` without a metavar gets its name, upper-case;
    one of paths (Path, Path | None, list[Path]) refuses '' in one line, which pathlib reads as the current folder."""
    if typing.get_origin(parameter.annotation) is not typing.Annotated:
        return parameter
    base, *extras = typing.get_args(parameter.annotation)
    infos = []
    for extra in extras:
        if isinstance(extra, typer.models.ParameterInfo):
            extra, argument = copy.copy(extra), isinstance(extra, typer.models.ArgumentInfo)
            if argument and extra.metavar is None:
                extra.metavar = parameter.name.upper()
            if _holds_paths(base) and extra.parser is None:  # named by its placeholder, or the option's first name
                name = str(extra.metavar if argument else extra.default)  # Annotated: "--x"
                extra.parser = path_parser(name, folder=name in FOLDER_PATHS)
                extra.metavar = extra.metavar or "<path>"
        infos.append(extra)
    return parameter.replace(annotation=typing.Annotated[(base, *infos)])


# The path options and arguments that name a folder, where a trailing '/' is the user's; every other path is a file.
FOLDER_PATHS = frozenset({"--models", "--evidence-dir", "--notice", "FOLDER"})


def _holds_paths(hint: object) -> bool:
    return hint is Path or any(_holds_paths(argument) for argument in typing.get_args(hint))


def summary_line(help_text: str) -> str:
    """A help text's first sentence (up to a '. ' or '; ' outside parentheses), on one line."""
    flat = " ".join(help_text.split())
    depth = 0
    for position, char in enumerate(flat):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and char in ".;" and flat[position + 1 : position + 2] in (" ", ""):
            return flat[:position]
    return flat


@contextlib.contextmanager
def terminate_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (`timeout`, `docker stop`, systemd, Kubernetes) taken as Ctrl-C while a command runs: a scan keeps
    and writes what it scanned (status interrupted, exit 130), and a file being written is left as it was with no
    temporary file behind. Killed by it, a scan lost an hour's work in silence, exit 143; and taken so only while
    the scan read its inputs, one ended while it loaded the models or wrote its result (a gallery export too)
    still exited 143 and left its hidden temporary file."""
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_app() -> None:
    """Run the app: every error is one line on stderr and an exit code, never a traceback."""
    try:
        _run_app()
    finally:
        # The command is over (its outputs written, its line said): a Ctrl-C more, as an impatient user presses
        # several, ended the exit itself, killed by SIGINT or aborted in ONNX Runtime's threads ('terminate called
        # without an active exception', 2 of 9 runs) where the exit status 130 was due.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_app() -> None:
    escape_unencodable(sys.stdout, sys.stderr)
    stdout_before = sys.stdout
    try:
        command_began.clear()
        with terminate_as_ctrl_c():
            code = app(standalone_mode=False, prog_name="impersonation-cli")
        if code == EXIT_INTERRUPTED and not command_began.is_set():
            # Typer ends a Ctrl-C met while it parses the arguments (before any command runs) with exit 130 and
            # not a word; a command's own 130 (an interrupted scan's) has said what it kept.
            raise typer.Abort()
    except SystemExit as exc:
        # Click ends a command whose reader stopped reading (`--help | head -1`, `bench --json | true`) with exit
        # 1, which says 'found' (README, Exit codes): the printing was its last act, so it ends as it would have.
        # Click tells it by putting a wrapper in place of stdout, which swallows the broken pipe's flush.
        if exc.code == 1 and sys.stdout is not stdout_before:
            sys.exit(0)
        raise
    except UserError as exc:
        _print_error(str(exc))
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):  # the latter: one met while Typer builds the command, before Click
        _print_error("aborted")
        sys.exit(EXIT_INTERRUPTED)
    except typer.TyperException as exc:  # usage errors: a bad option, a missing argument, an unknown command
        _print_usage_error(exc)
    except OSError as exc:  # a disk that filled up, a file removed under us: the system's words, one line
        _print_error(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc))
        sys.exit(EXIT_USAGE)
    except Exception as exc:  # the last line of defence against a traceback
        if interrupted(exc):  # a library a command loads late (onnxruntime), interrupted as it loaded
            _print_error("aborted")
            sys.exit(EXIT_INTERRUPTED)
        if os.environ.get(DEBUG_ENV):
            raise
        _print_error(f"internal error: {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for the traceback)")
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)


def _print_usage_error(exc: typer.TyperException) -> None:
    context = getattr(exc, "ctx", None)
    if type(exc).__name__ == "NoArgsIsHelpError" and context is not None:
        # A bare command group: its help is the useful answer.
        stderr.print(context.get_help(), markup=False, highlight=False)
        sys.exit(EXIT_USAGE)
    command = context.command_path if context is not None else "impersonation-cli"
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    _print_error(f"{command}: {message} (see {command} --help)")
    sys.exit(getattr(exc, "exit_code", EXIT_USAGE))


def _print_error(message: str) -> None:
    # File names and URLs may hold '[', which rich would read as markup, and newlines, which would forge lines.
    line = escape(shortened(printable(message)))
    errors.print(f"[bold red]error:[/] {line}", markup=True, highlight=False, soft_wrap=True)
