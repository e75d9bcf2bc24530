"""Whether a process named by a pid still exists: the test a hidden `.partial-PID` folder
(outputs/writer.py) and a ledger lock left in a killed run's name (ledger/store.py) make of
their holder before treating what it left as abandoned."""

from __future__ import annotations

import os


def pid_alive(pid: int | str) -> bool:
    """Whether process `pid` exists (a pid that is not a number names none). Another user's
    process exists too: signalling it is refused, not unknown."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
