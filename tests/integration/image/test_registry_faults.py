"""Faults between gobuildx and a real registry (a plain docker-registry of this module's own,
on a free loopback port), injected by a loopback proxy: dropped connections, 503, 429 with
Retry-After, a 413 for large bodies, a request that lands but whose answer is lost. The push
succeeds within its retry bound, or fails with no tag moved."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from gobuildx.formats.oci import Blob
from gobuildx.image import registry, transport
from tests.conftest import run_gobuildx
from tests.integration.image.conftest import clone, registry_get, unique_name
from tests.integration.image.registries import FaultProxy, Rule, Seen


@pytest.fixture
def proxy(request: pytest.FixtureRequest, own_registry: str) -> Iterator[FaultProxy]:
    p = FaultProxy(own_registry, request.param)
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


def _after(seen: list[Seen], fault: Seen) -> Seen:
    """The first request after `fault` of the same method and path: its retry."""
    return next(s for s in seen[seen.index(fault) + 1 :] if (s.method, s.path) == (fault.method, fault.path))


def _push_through(
    proxy: FaultProxy, root: Path, name: str, services: dict[str, str], layout: str = "l"
) -> subprocess.CompletedProcess[str]:
    """`gobuildx image --push` of linux-amd64 to the registry behind the fault proxy."""
    argv = ["image", "-t", "linux-amd64", "-r", f"{proxy.addr}/{name}", "--oci-layout", layout, "--push"]
    return run_gobuildx(argv, cwd=root, env=services)


@pytest.mark.parametrize("proxy", [FLAKY], indirect=True)
def test_a_flaky_registry_is_pushed_to_within_the_retry_bound(
    hello_images: Path, services: dict[str, str], tmp_path: Path, proxy: FaultProxy, own_registry: str
) -> None:
    root = clone(hello_images, tmp_path / "p")
    name = unique_name("flaky")
    proc = _push_through(proxy, root, name, services)
    assert proc.returncode == 0, proc.stderr
    assert {f[0] for f in proxy.faults} == {"drop", "503", "429"}, proxy.faults
    # the 429's Retry-After: 1 was waited for (the backoff alone would be 0.5 s), measured
    # between the 429 leaving the proxy and its retry arriving
    throttled = next(s for s in proxy.seen if s.fault == "429")
    gap = _after(proxy.seen, throttled).at - throttled.at
    assert 1.0 <= gap < 1.0 + 2.0, gap
    index = json.loads((root / "dist" / "manifest.json").read_text())["image"]["digest"]
    for tag in ("1.2.3", "latest"):
        status, headers, _ = registry_get(f"/v2/{name}/manifests/{tag}", at=own_registry)
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
    hello_images: Path, services: dict[str, str], tmp_path: Path, proxy: FaultProxy, own_registry: str
) -> None:
    root = clone(hello_images, tmp_path / "p")
    name = unique_name("down")
    first = run_gobuildx(
        ["image", "-t", "linux-amd64", "-t", "linux-arm64", "-r", f"{own_registry}/{name}", "--oci-layout", "l"]
        + ["--push"],
        cwd=root,
        env=services,
        check=True,
    )
    assert first.returncode == 0
    before = json.loads((root / "dist" / "manifest.json").read_text())["image"]["digest"]
    proc = _push_through(proxy, root, name, services, layout="l2")
    assert proc.returncode == 5, proc.stderr
    assert "HTTP 503 (after 5 tries)" in proc.stderr and "no tag was moved" in proc.stderr, proc.stderr
    attempts = [r for r in proxy.requests if r[0] == "PUT" and "/manifests/" in r[1]]
    assert len(attempts) == 1 + 5  # the platform manifest, then the index: five tries, no more
    for tag in ("1.2.3", "latest"):
        status, headers, _ = registry_get(f"/v2/{name}/manifests/{tag}", at=own_registry)
        assert status == 200 and headers["Docker-Content-Digest"] == before


def _too_large(limit: int, patches: dict[int, str] | None = None, methods: tuple[str, ...] = ("PUT", "PATCH")) -> Rule:
    """413 for a body over `limit` (of these methods); the Nth PATCH (1-based) gets patches[N]."""
    count = [0]

    def rule(method: str, path: str, size: int) -> str | None:
        if method == "PATCH":
            count[0] += 1
            if count[0] in (patches or {}):
                return (patches or {})[count[0]]
        return "413" if method in methods and size > limit else None

    return rule


@pytest.mark.parametrize("proxy", [_too_large(100_000)], indirect=True)
def test_a_body_too_large_falls_back_to_chunks(proxy: FaultProxy, own_registry: str) -> None:
    client = registry.Client(proxy.addr, 30, chunk_bytes=64 * 1024, policy=transport.RetryPolicy(base_s=0.01))
    blob = Blob(media_type="application/octet-stream", data=uuid.uuid4().bytes * 20_000)  # 320 kB
    client.ping()
    assert client.push_blob("test/chunked", blob) == "uploaded"
    assert [r[0] for r in proxy.requests].count("PATCH") == 5
    status, _, body = registry_get(f"/v2/test/chunked/blobs/{blob.digest}", accept="*/*", at=own_registry)
    assert status == 200 and body == blob.data


def _after_every_failed_patch(seen: list[Seen]) -> list[str]:
    """What the client sent next after each PATCH whose answer it did not get (or got as a 5xx)."""
    return [seen[i + 1].method for i, s in enumerate(seen) if s.method == "PATCH" and s.fault in ("lose", "500")]


@pytest.mark.parametrize("proxy", [_too_large(100_000, {2: "lose", 4: "500"})], indirect=True)
def test_a_chunk_whose_answer_is_lost_is_not_sent_again_blindly(proxy: FaultProxy, own_registry: str) -> None:
    """The second PATCH lands but its answer is lost: the client asks the upload where it
    stands (GET; distribution cannot say for a state it moved past) and starts over. The
    fourth PATCH gets a 500 without reaching the registry: asked, the upload says how much
    it holds (Range), and the push resumes there. Never the same PATCH again unasked."""
    client = registry.Client(proxy.addr, 30, chunk_bytes=64 * 1024, policy=transport.RetryPolicy(base_s=0.01))
    blob = Blob(media_type="application/octet-stream", data=uuid.uuid4().bytes * 20_000)  # 320 kB: 5 chunks
    client.ping()
    assert client.push_blob("test/lost", blob) == "uploaded"
    assert [f[0] for f in proxy.faults if f[1] == "PATCH"] == ["lose", "500"]
    assert _after_every_failed_patch(proxy.seen) == ["GET", "GET"], [(s.method, s.fault) for s in proxy.seen]
    starts = [s for s in proxy.seen if s.method == "POST"]
    assert len(starts) == 3  # the one PUT (413), the chunked upload, a new one after the lost answer
    ranges = [s.headers.get("Content-Range") for s in proxy.seen if s.method == "PATCH"]
    # session 1: 0-, 64k- (lost); session 2: 0-, 64k- (500), resumed at 64k (the Range said so), on to the end
    assert [r.split("-")[0] if r else r for r in ranges] == ["0", "65536", "0", "65536", "65536"] + [
        "131072",
        "196608",
        "262144",
    ], ranges
    status, _, body = registry_get(f"/v2/test/lost/blobs/{blob.digest}", accept="*/*", at=own_registry)
    assert status == 200 and body == blob.data


@pytest.mark.parametrize("proxy", [_too_large(100_000, {1: "lose"}, methods=("PUT",))], indirect=True)
def test_a_chunked_push_whose_answer_is_lost_still_pushes_and_moves_the_tags(
    hello_images: Path, services: dict[str, str], tmp_path: Path, proxy: FaultProxy, own_registry: str
) -> None:
    """`gobuildx image --push`: the layer is too large for one PUT, its one chunk lands and the
    answer is lost. The push asks, starts that upload over, and ends with every tag on the index."""
    root = clone(hello_images, tmp_path / "p")
    name = unique_name("lost")
    proc = _push_through(proxy, root, name, services)
    assert proc.returncode == 0, proc.stderr
    assert ("lose", "PATCH") in {(f[0], f[1]) for f in proxy.faults}, proxy.faults
    assert _after_every_failed_patch(proxy.seen) == ["GET"]
    index = json.loads((root / "dist" / "manifest.json").read_text())["image"]["digest"]
    for tag in ("1.2.3", "latest"):
        status, headers, _ = registry_get(f"/v2/{name}/manifests/{tag}", at=own_registry)
        assert status == 200 and headers["Docker-Content-Digest"] == index
