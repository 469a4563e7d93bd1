"""A real headless Chromium for the report tests, driven over the DevTools pipe (no extra packages).

`browser` starts Debian's `chromium` the way the report is meant to be seen. Without chromium the
tests skip with the package to install, except in CI (CI=true), where a missing browser fails.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import need

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
]
TIMEOUT_S = 60.0


def find_chromium() -> str:
    found = os.environ.get("GOBUILDX_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    need(False, "chromium is not installed (apt-get install -y chromium); the report's browser tests need it")
    raise AssertionError("unreachable")


class Page:
    """One page in a headless Chromium, driven through the DevTools protocol over --remote-debugging-pipe."""

    def __init__(self, chromium: str, url: str, size: tuple[int, int], profile: Path, javascript: bool) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds() -> None:  # chromium reads commands on fd 3 and writes replies on fd 4
            read, write = os.dup(to_child_r), os.dup(from_child_w)  # free 3 and 4 even if a pipe is there
            os.dup2(read, 3)  # dup2 makes them inheritable across exec
            os.dup2(write, 4)

        argv = [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--remote-debugging-pipe",
            f"--window-size={size[0]},{size[1]}",
            "about:blank",
        ]
        self.proc = subprocess.Popen(
            argv,
            preexec_fn=wire_fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._next_id = 0
        self._buffer = b""
        self.events: list[dict[str, Any]] = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.call(f"{domain}.enable", session=True)
        # the page's own scripts off (DevTools' Runtime.evaluate still works for the checks)
        self.call("Emulation.setScriptExecutionDisabled", session=True, value=not javascript)
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("document.readyState === 'complete'")

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            reply = self._read()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)
        raise AssertionError(f"chromium did not answer {method} within {TIMEOUT_S}s")

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_child, 1 << 16)
            if not chunk:
                raise AssertionError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def eval(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while not self.eval(expression):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {expression}")
            time.sleep(0.05)

    def dom(self) -> str:
        """The document as the browser built it (like --dump-dom, which needs scripts on)."""
        root = self.call("DOM.getDocument", session=True)["root"]["nodeId"]
        return self.call("DOM.getOuterHTML", session=True, nodeId=root)["outerHTML"]

    def click(self, selector: str) -> None:
        """A real mouse click (pressed + released) in the middle of the element."""
        box = self.eval(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            "e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            "return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent", session=True, type=kind, x=box["x"], y=box["y"], button="left", clickCount=1
            )

    def screenshot(self, out: Path, full_page: bool = True) -> Path:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            self.eval("window.scrollTo(0, 0)")  # sticky elements would be drawn where the scroll left them
            metrics = self.call("Page.getLayoutMetrics", session=True)["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": metrics["width"], "height": metrics["height"], "scale": 1}
        data = self.call("Page.captureScreenshot", session=True, **params)["data"]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(data))
        return out

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except AssertionError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)


class Browser:
    def __init__(self, chromium: str, scratch: Path) -> None:
        self.chromium = chromium
        self.scratch = scratch

    def _profile(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="chromium-", dir=self.scratch))

    def open(self, url: str, size: tuple[int, int] = (1280, 900), javascript: bool = False) -> Page:
        """The page loaded in a fresh browser; without JavaScript unless asked (the report has none)."""
        return Page(self.chromium, url, size, self._profile(), javascript)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Session-scoped, so a test marked usefixtures("chromium_path") skips before its slow fixtures run."""
    return find_chromium()


@pytest.fixture
def browser(chromium_path: str, tmp_path: Path) -> Iterator[Browser]:
    yield Browser(chromium_path, tmp_path)


@pytest.fixture
def artifacts_dir(tmp_path: Path) -> Path:
    """Where screenshots go: $GOBUILDX_TEST_ARTIFACTS (CI uploads it) or the test's tmp dir."""
    given = os.environ.get("GOBUILDX_TEST_ARTIFACTS")
    out = Path(given) if given else tmp_path / "artifacts"
    out.mkdir(parents=True, exist_ok=True)
    return out
