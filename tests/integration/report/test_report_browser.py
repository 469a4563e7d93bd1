"""dist/report.html of a real cgo matrix with a failing target, opened in a real headless Chromium.

The matrix (examples/cgo): linux-amd64 against glibc 2.17 (dynamic: a flag at the top), against
musl (static), and linux-arm64 with a build tag that selects a file which does not compile.
"""

from __future__ import annotations

import shutil
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from gobuildx.project import manifest_file
from gobuildx.report import stage as report
from tests.conftest import REPO, run_gobuildx

# The compiler quotes this HTML in its error: the page must show it as text (a <script> element is a bug).
BROKEN_GO = """//go:build broken

package main

var broken = "<script>alert('x')</script> & <b>bold</b>" + 1
"""
TOML = """
[project]
name = "cgo"
dir = "app"
version = "1.2.3"
ldflags = ["-s", "-w"]

[matrix.main]
goos = ["linux"]
goarch = ["amd64"]
libc = ["glibc", "musl"]
min_glibc = ["2.17"]
include = [{ goos = "linux", goarch = "arm64", libc = "glibc", min_glibc = "2.17" }]

[[override]]
match = ["linux-arm64-*"]
tags = ["broken"]
"""
FAILED, GLIBC, MUSL = "linux-arm64-glibc2.17", "linux-amd64-glibc2.17", "linux-amd64-musl"
RED = "rgb(207, 34, 46)"  # --bad in the page's CSS


def row(target_id: str) -> str:
    """The CSS selector of a target's row (ids like linux-amd64-glibc2.17 are not valid #selectors)."""
    return f'details[data-target="{target_id}"]'


@pytest.fixture(scope="module")
def failing_dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("failing-matrix")
    shutil.copytree(REPO / "examples" / "cgo", root / "app", ignore=shutil.ignore_patterns("dist", "targets.toml"))
    (root / "app" / "broken.go").write_text(BROKEN_GO)
    (root / "targets.toml").write_text(TOML)
    proc = run_gobuildx(["build"], cwd=root)
    assert proc.returncode == 4, proc.stdout + proc.stderr  # BuildFailed, and still a report
    assert f"report: {root / 'dist' / 'report.html'}" in proc.stdout
    return root / "dist"


class Rows(HTMLParser):
    """The grid as a page without JavaScript has it: row id, tone, open, and each column's text."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, object]] = []
        self.scripts = 0
        self._col: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "details" and "row" in (a.get("class") or "").split():
            self.rows.append({"id": a["data-target"], "tone": a["data-tone"], "open": "open" in a, "cells": {}})
        if tag == "span":
            if self._col:
                self._depth += 1
            elif a.get("data-col") and self.rows:
                self._col, self._depth = a["data-col"], 0
                self.rows[-1]["cells"][self._col] = ""  # type: ignore[index]

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._col:
            if self._depth == 0:
                self._col = None
            else:
                self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._col:
            cells = self.rows[-1]["cells"]
            cells[self._col] = " ".join((cells[self._col] + " " + data).split())  # type: ignore[index]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.mark.usefixtures("chromium_path")
def test_grid_without_javascript(failing_dist: Path, browser) -> None:  # type: ignore[no-untyped-def]
    """With the page's scripts off, the grid is complete: failures first, then the glibc flag."""
    m = manifest_file.read(failing_dist)
    assert m is not None
    page = failing_dist / "report.html"
    source = page.read_text()
    assert "<script" not in source and "http://" not in source and "https://" not in source

    grid = Rows()
    tab = browser.open(page.as_uri(), javascript=False)
    try:
        grid.feed(tab.dom())
    finally:
        tab.close()
    assert grid.scripts == 0, "the compile error's <script> must be text, not an element"
    assert [r["id"] for r in grid.rows] == [FAILED, GLIBC, MUSL], "failures first, then warnings"

    failed, glibc, musl = (r["cells"] for r in grid.rows)
    assert grid.rows[0]["tone"] == "bad" and grid.rows[0]["open"], "a failed row is open without a click"
    assert failed["build"] == "\u2718 failed" and failed["size"] == "\u2013"  # type: ignore[index]

    audit = m.target(GLIBC).audit  # type: ignore[union-attr]
    assert audit is not None and audit.dynamic_glibc, "examples/cgo against glibc links it dynamically"
    assert grid.rows[1]["tone"] == "warn" and not grid.rows[1]["open"]
    assert glibc["linkage"] == f"\u26a0 {audit.linkage}" and "glibc" in audit.linkage  # type: ignore[index]
    assert glibc["cgo"] == "on" and glibc["build"].startswith("\u2714 built")  # type: ignore[index,union-attr]

    assert grid.rows[2]["tone"] == "ok"
    assert musl["linkage"].startswith("\u2714 static") and "musl" in musl["linkage"]  # type: ignore[index,union-attr]
    size = sum(a.size for a in m.target(MUSL).artifacts)  # type: ignore[union-attr]
    assert musl["size"] == report.human_size(size)  # type: ignore[index]
    for cells in (glibc, musl):
        assert cells["smoke"] == "not run" and cells["image"] == "not run"  # type: ignore[index]


@pytest.mark.usefixtures("chromium_path")
def test_failing_matrix_in_browser(failing_dist: Path, browser, artifacts_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """A person's view: the failure's log, the glibc flag on top, a row opened by a click, the charts."""
    m = manifest_file.read(failing_dist)
    assert m is not None
    uri = (failing_dist / "report.html").as_uri()
    page = browser.open(uri, size=(1280, 900))
    try:
        assert page.eval("document.scripts.length") == 0
        log = page.eval(f"document.querySelector('{row(FAILED)} pre.bad').innerText")
        assert "invalid operation: \"<script>alert('x')</script> & <b>bold</b>\" + 1" in log
        assert "-tags=broken" in log, "the build command (flags) is in the failure's log tail"
        badge = f"document.querySelector('{row(FAILED)} [data-col=build] .badge')"
        assert page.eval(f"getComputedStyle({badge}).backgroundColor") == RED

        glibc = m.target(GLIBC)
        assert glibc is not None and glibc.audit is not None
        flags = page.eval("[...document.querySelectorAll('#flags li')].map(li => li.innerText)")
        assert flags[0].startswith(f"\u2718 {FAILED} build failed: go build exited with status 1")
        assert flags[1].startswith(f"\u26a0 {GLIBC} dynamic glibc, needs GLIBC_{glibc.audit.highest_glibc}")
        assert all(sym in flags[1] for sym in glibc.audit.floor_symbols[:8])

        details = f"document.querySelector('{row(GLIBC)} .detail')"
        assert page.eval(f"{details}.checkVisibility()") is False, "closed before the click"
        page.click(f"{row(GLIBC)} > summary")
        assert page.eval(f"document.querySelector('{row(GLIBC)}').open") is True
        assert page.eval(f"{details}.checkVisibility()") is True
        text = page.eval(f"{details}.innerText")
        art = glibc.artifacts[0]
        for fact in (
            art.sha256,
            f"{art.size} bytes",
            "GOOS=linux GOARCH=amd64 CGO_ENABLED=1",
            glibc.audit.file,
            ", ".join(glibc.audit.needed),
            ", ".join(glibc.audit.floor_symbols),
            glibc.c_toolchain,
            "-trimpath=true CGO_ENABLED=1",
        ):  # build settings from the binary
            assert fact and fact in text, f"{fact!r} not in the details"

        bars = page.eval("[...document.querySelectorAll('#sizes svg title')].map(t => t.textContent)")
        sizes = sorted(((sum(a.size for a in t.artifacts), t.id) for t in m.targets if t.artifacts), reverse=True)
        assert bars == [f"{tid}: {report.human_size(n)}" for n, tid in sizes]
        stages = page.eval("[...document.querySelectorAll('#stages svg title')].map(t => t.textContent)")
        recorded = {s.name: s.duration_s for s in m.stages}
        assert "build" in recorded
        for name in report.STAGES:
            want = report.human_duration(recorded[name]) if name in recorded else "not run"
            assert any(title.split(" (started ")[0] == f"{name}: {want}" for title in stages), stages

        assert page.requested_urls() == [uri], "the page loads nothing else"
        shot = page.screenshot(artifacts_dir / "report-failing-matrix.png")
    finally:
        page.close()
    width, height = png_size(shot)
    assert width == 1280 and height > 900, "a full-page screenshot, with two rows open"
    print(f"screenshot: {shot}")


def test_page_has_the_manifest_facts(failing_dist: Path) -> None:
    """Every target's facts from manifest.json are in the page, HTML-escaped."""
    m = manifest_file.read(failing_dist)
    assert m is not None
    source = (failing_dist / "report.html").read_text()
    for t in m.targets:
        assert f'id="t-{t.id}"' in source
        for a in t.artifacts:
            assert a.sha256 in source and a.path in source
    failed = m.target(FAILED)
    assert failed is not None and failed.error
    assert str(escape(failed.error.splitlines()[-1])) in source
