"""Importing in the background what a command needs only later."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Sequence


def preload(modules: Sequence[str]) -> None:
    """Import `modules` in a daemon thread while the caller waits on child processes (`go
    build` leaves the CPU idle between steps), so that the import costs no wall time when the
    module is needed. A failure is ignored here: it surfaces at the real import."""

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:
                continue

    threading.Thread(target=load, name="gobuildx-preload", daemon=True).start()
