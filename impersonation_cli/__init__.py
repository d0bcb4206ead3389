"""impersonation-cli: find registered celebrities in recordings and live rooms, flag likely impersonation.

The pipeline reads top to bottom, one module per stage:
source (sources) -> frames -> faces (faces) -> tracks (tracks) -> matches (matches)
-> signals (signals) -> verdicts (verdicts) -> reports (reports).
`scan.scan_paths` runs it for files; the CLI in `impersonation_cli.cli` is a thin layer over it.
"""

__version__ = "0.1.0"
