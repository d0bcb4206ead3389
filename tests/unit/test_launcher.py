"""A Ctrl-C while the CLI is still being imported is one line and exit 130, not a KeyboardInterrupt traceback
(a QA pass saw one by interrupting `models install` in its first half-second)."""

from __future__ import annotations

import subprocess
import sys

# Makes importing the CLI raise KeyboardInterrupt, as a Ctrl-C during that import does.
PROGRAM = """
import sys

class InterruptedImport:
    def find_spec(self, name, path=None, target=None):
        if name == "impersonation_cli.cli":
            raise KeyboardInterrupt

sys.meta_path.insert(0, InterruptedImport())
from impersonation_cli.launcher import main
main()
"""


def test_an_interrupt_while_loading_is_one_line_and_exit_130() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 130
    assert done.stderr == "error: aborted\n"
