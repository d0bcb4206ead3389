"""Options several commands take, declared once: `name: options.Models = None` in a command's signature."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from impersonation_cli.outputs.findings import FAIL_ON_CHOICES

Models = Annotated[
    Path | None, typer.Option("--models", help="Folder of model packs [env IMPERSONATION_MODELS]", show_default=False)
]
Pack = Annotated[
    str | None,
    typer.Option("--pack", help="Pack name or folder [env IMPERSONATION_PACK; default: best installed]"),
]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda, tensorrt, rocm, coreml, dml, openvino")]
Gallery = Annotated[
    Path | None, typer.Option("--gallery", help="Gallery SQLite file [env IMPERSONATION_GALLERY]", show_default=False)
]
Config = Annotated[
    Path | None, typer.Option("--config", help="TOML settings overriding the defaults [env IMPERSONATION_CONFIG]")
]
Threads = Annotated[
    int | None,
    typer.Option(
        "--threads",
        help="CPU threads per model, 1 to 1024 (default: half the cores for scan, eval and bench, which run "
        "detection beside recognition; all cores for watch and gallery)",
    ),
]
EvidenceDir = Annotated[Path | None, typer.Option("--evidence-dir", help="Save evidence crops here")]
FailOn = Annotated[
    list[str] | None,
    typer.Option(
        "--fail-on",
        help=f"Verdicts that set exit code 1: {', '.join(FAIL_ON_CHOICES)} (repeatable or comma-separated) "
        "[default: any]",
        show_default=False,
    ),
]
ScanFps = Annotated[float | None, typer.Option("--fps", help="Frames sampled per second [default: config, 2]")]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print only errors and the requested output: no notes or progress")
]
Engine = Annotated[
    str, typer.Option("--engine", help="local, or ray: spread the work over a Ray cluster (docs/scale.md)")
]
Address = Annotated[
    str | None,
    typer.Option("--address", help="With --engine ray: auto, local, HOST:PORT or ray://HOST:PORT [default: auto]"),
]
Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", help="With --engine ray: actors to work with [default: one per CPU (GPU) of the cluster]"
    ),
]
