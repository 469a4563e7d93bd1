"""Process groups: every command gobuildx starts runs in a session of its own
(`start_new_session=True`), so a timeout or an interrupt stops the program and every child it
left behind (wineserver, a forked helper), not only the pid it started."""

from __future__ import annotations

import os
import signal
import subprocess


def signal_group(proc: subprocess.Popen[bytes], sig: int) -> bool:
    """Send `sig` to the process group of `proc`; False when the group is gone already."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_group(proc: subprocess.Popen[bytes], reap_s: float | None = 10.0) -> None:
    """SIGKILL the whole process group (the program and every child it left behind), then reap
    the program for up to `reap_s` seconds (None: do not wait, e.g. while holding a lock)."""
    signal_group(proc, signal.SIGKILL)
    if reap_s is None:
        return
    try:
        proc.wait(timeout=reap_s)
    except subprocess.TimeoutExpired:
        pass


def terminate_group(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the group (a program that traps it cleans up: unmounts, removes its files), then
    wait up to `grace_s` seconds for the program to end."""
    if signal_group(proc, signal.SIGTERM):
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
