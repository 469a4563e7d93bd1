"""Faults between gobuildx and a real registry (the suite's plain one on 127.0.0.1:5000), injected
by a loopback proxy: dropped connections, 503, 429 with Retry-After, a 413 for large bodies.
The push succeeds within its retry bound, or fails with no tag moved."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from gobuildx.formats.oci import Blob
from gobuildx.image import registry, transport
from tests.conftest import run_gobuildx
from tests.integration.image.conftest import REGISTRY, clone, registry_get, unique_repo
from tests.integration.image.registries import FaultProxy, Rule


@pytest.fixture
def proxy(request: pytest.FixtureRequest) -> Iterator[FaultProxy]:
    p = FaultProxy(REGISTRY, request.param)
    yield p
    p.stop()


def _first_of_each(kinds: dict[tuple[str, str], str]) -> Rule:
    """A fault for the first request of each (method, path kind), then forward."""
    seen: Counter[tuple[str, str]] = Counter()

    def rule(method: str, path: str, size: int) -> str | None:
        kind = next((k for k in ("/blobs/uploads/", "/manifests/", "/blobs/") if k in path), path)
        key = (method, kind)
        seen[key] += 1
        return kinds.get(key) if seen[key] == 1 else None

    return rule


FLAKY = _first_of_each(
    {
        ("HEAD", "/blobs/"): "drop",
        ("POST", "/blobs/uploads/"): "503",
        ("PUT", "/blobs/uploads/"): "drop",
        ("PUT", "/manifests/"): "429",
    }
)


@pytest.mark.parametrize("proxy", [FLAKY], indirect=True)
def test_a_flaky_registry_is_pushed_to_within_the_retry_bound(
    hello_images: Path, services: dict[str, str], tmp_path: Path, proxy: FaultProxy
) -> None:
    root = clone(hello_images, tmp_path / "p")
    name = unique_repo("flaky").split("/", 1)[1]
    started = time.monotonic()
    proc = run_gobuildx(
        ["image", "-t", "linux-amd64", "-r", f"{proxy.addr}/{name}", "--oci-layout", "l", "--push"],
        cwd=root,
        env=services,
    )
    assert proc.returncode == 0, proc.stderr
    assert {f[0] for f in proxy.faults} == {"drop", "503", "429"}, proxy.faults
    assert time.monotonic() - started >= 1.0  # the 429's Retry-After: 1 was waited for
    index = json.loads((root / "dist" / "manifest.json").read_text())["image"]["digest"]
    for tag in ("1.2.3", "latest"):
        status, headers, _ = registry_get(f"/v2/{name}/manifests/{tag}")
        assert status == 200 and headers["Docker-Content-Digest"] == index


def _index_always(status: str) -> Rule:
    """Every manifest PUT after the first (the platform manifest) fails: the index never lands."""
    puts = [0]

    def rule(method: str, path: str, size: int) -> str | None:
        if method == "PUT" and "/manifests/" in path:
            puts[0] += 1
            return status if puts[0] > 1 else None
        return None

    return rule


@pytest.mark.parametrize("proxy", [_index_always("503")], indirect=True)
def test_a_registry_that_stays_down_moves_no_tag(
    hello_images: Path, services: dict[str, str], tmp_path: Path, proxy: FaultProxy
) -> None:
    root = clone(hello_images, tmp_path / "p")
    name = unique_repo("down").split("/", 1)[1]
    first = run_gobuildx(
        ["image", "-t", "linux-amd64", "-t", "linux-arm64", "-r", f"{REGISTRY}/{name}", "--oci-layout", "l", "--push"],
        cwd=root,
        env=services,
        check=True,
    )
    assert first.returncode == 0
    before = json.loads((root / "dist" / "manifest.json").read_text())["image"]["digest"]
    proc = run_gobuildx(
        ["image", "-t", "linux-amd64", "-r", f"{proxy.addr}/{name}", "--oci-layout", "l2", "--push"],
        cwd=root,
        env=services,
    )
    assert proc.returncode == 5, proc.stderr
    assert "HTTP 503 (after 5 tries)" in proc.stderr and "no tag was moved" in proc.stderr, proc.stderr
    attempts = [r for r in proxy.requests if r[0] == "PUT" and "/manifests/" in r[1]]
    assert len(attempts) == 1 + 5  # the platform manifest, then the index: five tries, no more
    for tag in ("1.2.3", "latest"):
        status, headers, _ = registry_get(f"/v2/{name}/manifests/{tag}")
        assert status == 200 and headers["Docker-Content-Digest"] == before


def _too_large(limit: int) -> Rule:
    def rule(method: str, path: str, size: int) -> str | None:
        return "413" if method in ("PUT", "PATCH") and size > limit else None

    return rule


@pytest.mark.parametrize("proxy", [_too_large(100_000)], indirect=True)
def test_a_body_too_large_falls_back_to_chunks(proxy: FaultProxy) -> None:
    client = registry.Client(proxy.addr, 30, chunk_bytes=64 * 1024, policy=transport.RetryPolicy(base_s=0.01))
    blob = Blob(media_type="application/octet-stream", data=uuid.uuid4().bytes * 20_000)  # 320 kB
    client.ping()
    assert client.push_blob("test/chunked", blob) == "uploaded"
    assert [r[0] for r in proxy.requests].count("PATCH") == 5
    status, _, body = registry_get(f"/v2/test/chunked/blobs/{blob.digest}", accept="*/*")
    assert status == 200 and body == blob.data
