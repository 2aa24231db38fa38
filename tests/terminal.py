"""Running dfmod on a real terminal (a pty), as a person at a shell does.

A pipe and a terminal get different output (colour, the default format), so the tests that
are about the terminal run the command with a pty as its stdout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def on_a_terminal(args: list[str], cwd: Path, timeout: float = 60) -> str:
    """What `dfmod ARGS` writes to stdout when stdout is a terminal (colour variables unset)."""
    leader, follower = os.openpty()
    environment = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR")}
    environment["TERM"] = "xterm"
    process = subprocess.Popen([sys.executable, "-m", "dfmod", *args], cwd=cwd, stdout=follower,
                               stderr=subprocess.DEVNULL, env=environment)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=timeout)
    os.close(leader)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")  # the pty turns \n into \r\n
