"""Every runner gobuildx knows, in the order smoke tries them for an artifact."""

from __future__ import annotations

import importlib
import importlib.util

from gobuildx.smoke.runners.base import Runner
from gobuildx.smoke.runners.native import NativeRunner
from gobuildx.smoke.runners.qemu import QemuRunner
from gobuildx.smoke.runners.wasm import NodeRunner, WasmtimeRunner
from gobuildx.smoke.runners.wine import WineRunner


def artifact_runners() -> list[Runner]:
    return [NativeRunner(), QemuRunner(), WineRunner(), WasmtimeRunner(), NodeRunner()]


def image_runners() -> list[Runner]:
    """The container and daemonless image-rootfs runners, from runners/container.py when present.

    container.py provides `runners() -> list[Runner]` whose runners have kind = "image".
    """
    if importlib.util.find_spec("gobuildx.smoke.runners.container") is None:
        return []
    container = importlib.import_module("gobuildx.smoke.runners.container")
    return list(container.runners())


def package_runners() -> list[Runner]:
    """Installing each Linux package with its own package manager (runners/packages.py)."""
    from gobuildx.smoke.runners import packages

    return packages.runners()


def all_runners() -> list[Runner]:
    return artifact_runners() + image_runners() + package_runners()
