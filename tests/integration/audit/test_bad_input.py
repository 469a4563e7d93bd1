"""Broken input: a clear per-file error, never a hang, a crash or unbounded memory."""

from __future__ import annotations

import os
import random
import resource
import struct
import time
from pathlib import Path

import pytest

from gobuildx.audit import linkage

PER_FILE_BUDGET_S = 2.0


def read(path: Path) -> linkage.Facts:
    t0 = time.monotonic()
    f = linkage.read_facts(path)
    assert time.monotonic() - t0 < PER_FILE_BUDGET_S, f"{path} took too long"
    return f


def test_empty_missing_directory_script(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert read(empty).error == "empty file (0 bytes)"
    assert read(tmp_path / "missing").error == "no such file"
    assert read(tmp_path).error == "is a directory"
    assert read(script).error == "not a binary: a script (#!/bin/sh)"
    assert "not a binary" in (read(text).error or "")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert read(fifo).error == "not a regular file (device, FIFO or socket)"  # and did not block


@pytest.mark.parametrize("name", ["pure", "cgo-glibc", "zig-glibc2.17", "windows.exe", "darwin", "wasip1.wasm"])
def test_truncated_binaries_give_errors_not_crashes(bins: dict[str, Path], tmp_path: Path, name: str) -> None:
    data = bins[name].read_bytes()
    cuts = [1, 4, 16, 52, 63, 64, 100, 200, 1000, 4096, len(data) // 3, len(data) // 2, len(data) - 1]
    for cut in cuts:
        p = tmp_path / f"cut{cut}"
        p.write_bytes(data[:cut])
        f = read(p)
        if cut < 64 or f.error:
            assert f.error, (name, cut)
            assert f.path == str(p)


@pytest.mark.parametrize("name", ["pure", "cgo-glibc", "windows.exe", "darwin", "js.wasm"])
def test_bit_flipped_headers_are_bounded(bins: dict[str, Path], tmp_path: Path, name: str) -> None:
    """Flip random bytes in the first 8 KiB (headers, tables): every read finishes quickly."""
    data = bins[name].read_bytes()
    rng = random.Random(f"{name}-flips")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    errors = 0
    for i in range(60):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 12)):
            pos = rng.randrange(0, min(8192, len(mutated)))
            mutated[pos] = rng.randrange(256)
        p = tmp_path / f"flip{i}"
        p.write_bytes(bytes(mutated))
        errors += bool(read(p).error)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 200 * 1024, f"memory grew by {grown_kib} KiB"


def test_crafted_elf_tables_cannot_loop_or_explode(bins: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(bins["cgo-glibc"].read_bytes())
    # e_shnum = 0 with e_shstrndx = 0xffff: "extended numbering" with a huge count in section 0.
    huge = bytearray(data)
    struct.pack_into("<HH", huge, 60, 0, 0xFFFF)
    shoff = struct.unpack_from("<Q", huge, 40)[0]
    struct.pack_into("<Q", huge, shoff + 32, 2**40)
    p = tmp_path / "huge-shnum"
    p.write_bytes(bytes(huge))
    assert "section header" in (read(p).error or "")
    # program header table pointing past the end of the file
    past = bytearray(data)
    struct.pack_into("<Q", past, 32, len(data) + 10)
    p = tmp_path / "phoff-past-end"
    p.write_bytes(bytes(past))
    assert "outside the file" in (read(p).error or "")


def test_errors_do_not_stop_other_files(bins: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(bins["pure"].read_bytes()[:300])
    facts = linkage.read_many([bad, bins["pure"], tmp_path / "nope", bins["zig-musl"]], evidence=True)
    assert [bool(f.error) for f in facts] == [True, False, True, False]
    assert facts[1].static and facts[3].static
