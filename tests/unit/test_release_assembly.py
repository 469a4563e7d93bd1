"""Release assembly on a synthetic dist: records and bytes written by hand, no Go and no build."""

from __future__ import annotations

import hashlib
import json
import tarfile
import zipfile

import pytest

from gobuildx.errors import ReleaseRefused
from gobuildx.model.audit import AuditResult
from gobuildx.model.manifest import ArtifactRecord, Manifest, TargetRecord
from gobuildx.model.smoke import SmokeRecord, SmokeResult
from gobuildx.project import checks, manifest_file
from gobuildx.release import archive, verify
from gobuildx.release import stage as release_stage

TOML = """
[project]
name = "hello"
dir = "hello"
version = "1.2.3"

[matrix.m]
goos = ["linux", "windows"]
goarch = ["amd64"]

[release]
files = ["LICENSE"]
"""
DATE = "2023-11-14T22:13:20Z"


def synthetic_dist(ctx, smoke_failed: str | None = None) -> None:
    records = []
    for t in ctx.targets:
        name = f"{t.id}/hello{t.exe_suffix()}"
        data = f"the bytes of {t.id}\n".encode()
        (ctx.dist / name).parent.mkdir(parents=True, exist_ok=True)
        (ctx.dist / name).write_bytes(data)
        status = "failed" if t.id == smoke_failed else "passed"
        records.append(
            TargetRecord(
                id=t.id,
                goos=t.goos,
                goarch=t.goarch,
                cgo=t.cgo,
                libc=t.libc,
                link=t.link,
                status="ok",
                artifacts=[
                    ArtifactRecord(binary="hello", path=name, size=len(data), sha256=hashlib.sha256(data).hexdigest())
                ],
                audit=AuditResult(id=t.id, declared="static", verdict="pass"),
                smoke=SmokeRecord(
                    status=status,
                    results=[
                        SmokeResult(
                            runner="native",
                            binary="hello",
                            status=status,
                            reason="exit code 0" if status == "passed" else "exit code 2",
                        )
                    ],
                ),
            )
        )
    m = Manifest(
        gobuildx="0", project="hello", version="1.2.3", commit="abc1234", date=DATE, go="go1.26.8", targets=records
    )
    manifest_file.update(ctx.dist, lambda _: m)


def test_a_release_of_a_synthetic_dist_verifies(context) -> None:
    ctx = context(TOML)
    (ctx.loaded.root / "LICENSE").write_text("MIT\n")
    synthetic_dist(ctx)
    rm = release_stage.assemble(release_stage.from_project(ctx, [t.id for t in ctx.targets]))
    folder = ctx.dist / "release"
    assert [t.id for t in rm.targets] == ["linux-amd64", "windows-amd64"]
    assert [(t.audit, t.smoke) for t in rm.targets] == [("pass", "pass"), ("pass", "pass")]
    assert rm.epoch == 1700000000 and rm.stages == {"build": "ran", "audit": "ran", "image": "not run", "smoke": "ran"}
    with tarfile.open(folder / "hello_1.2.3_linux-amd64.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["LICENSE", "hello"]
        assert all(m.mtime == 1700000000 for m in tar.getmembers())
    with zipfile.ZipFile(folder / "hello_1.2.3_windows-amd64.zip") as z:
        assert sorted(z.namelist()) == ["LICENSE", "hello.exe"]
    doc = json.loads((folder / "hello_1.2.3_linux-amd64.hello.spdx.json").read_text())
    assert "has no Go build info" in doc["comment"]  # the bytes are no Go binary: said, not guessed
    problems, checked = verify.check(folder)
    assert problems == [] and checked == rm


def test_the_same_dist_gives_the_same_bytes(context) -> None:
    ctx = context(TOML)
    (ctx.loaded.root / "LICENSE").write_text("MIT\n")
    synthetic_dist(ctx)
    ids = [t.id for t in ctx.targets]
    release_stage.assemble(release_stage.from_project(ctx, ids))
    first = {p.name: p.read_bytes() for p in (ctx.dist / "release").iterdir()}
    release_stage.assemble(release_stage.from_project(ctx, ids))
    assert {p.name: p.read_bytes() for p in (ctx.dist / "release").iterdir()} == first


def test_a_failed_smoke_refuses_unless_allowed(context) -> None:
    ctx = context(TOML)
    (ctx.loaded.root / "LICENSE").write_text("MIT\n")
    synthetic_dist(ctx, smoke_failed="windows-amd64")
    ids = [t.id for t in ctx.targets]
    with pytest.raises(ReleaseRefused, match="windows-amd64: smoke test failed"):
        release_stage.assemble(release_stage.from_project(ctx, ids))
    assert not (ctx.dist / "release").exists()
    rm = release_stage.assemble(release_stage.from_project(ctx, ids, allow_failures=True))
    assert {t.id: t.smoke for t in rm.targets} == {"linux-amd64": "pass", "windows-amd64": "fail"}


def test_a_changed_artifact_is_caught_by_verify(context) -> None:
    ctx = context(TOML)
    (ctx.loaded.root / "LICENSE").write_text("MIT\n")
    synthetic_dist(ctx)
    release_stage.assemble(release_stage.from_project(ctx, [t.id for t in ctx.targets]))
    archive = ctx.dist / "release" / "hello_1.2.3_linux-amd64.tar.gz"
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    problems, _ = verify.check(ctx.dist / "release")
    assert any("hello_1.2.3_linux-amd64.tar.gz" in p for p in problems), problems


def test_goreleaser_style_names_formats_and_wrap_verify(context) -> None:
    """[release] as init --from-goreleaser writes it: {arch}, a name for one target, tar.gz on
    windows but for a format override, every member in a directory named after the archive."""
    toml = TOML.replace(
        '[release]\nfiles = ["LICENSE"]',
        '[release]\nfiles = ["LICENSE"]\nname = "{project}_{version}_{goos}_{arch}"\n'
        'format = "tar.gz"\nformat_overrides = { linux = "zip" }\nwrap = "{name}"\n'
        'names = { windows-amd64 = "hello_{version}_Windows_x86_64" }\nsbom = "none"',
    )
    ctx = context(toml)
    (ctx.loaded.root / "LICENSE").write_text("MIT\n")
    synthetic_dist(ctx)
    rm = release_stage.assemble(release_stage.from_project(ctx, [t.id for t in ctx.targets]))
    folder = ctx.dist / "release"
    assert [t.archive.name for t in rm.targets] == ["hello_1.2.3_linux_amd64.zip", "hello_1.2.3_Windows_x86_64.tar.gz"]
    with zipfile.ZipFile(folder / "hello_1.2.3_linux_amd64.zip") as z:
        assert sorted(z.namelist()) == ["hello_1.2.3_linux_amd64/LICENSE", "hello_1.2.3_linux_amd64/hello"]
    with tarfile.open(folder / "hello_1.2.3_Windows_x86_64.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["hello_1.2.3_Windows_x86_64/LICENSE", "hello_1.2.3_Windows_x86_64/hello.exe"]
    problems, checked = verify.check(folder)
    assert problems == [] and checked == rm


@pytest.mark.parametrize("fmt", ["tar.xz", "tar.zst"])
def test_xz_and_zstd_archives_are_reproducible_and_verify(context, fmt: str) -> None:
    """GoReleaser's tar.xz and tar.zst: the same tar as tar.gz (sorted, epoch, 0/0, 0755) under
    another compressor, the same bytes from the same dist, read back by verify."""
    toml = TOML.replace('[release]\nfiles = ["LICENSE"]', f'[release]\nfiles = ["LICENSE"]\nformat = "{fmt}"')
    ctx = context(toml)
    (ctx.loaded.root / "LICENSE").write_text("MIT\n")
    synthetic_dist(ctx)
    ids = [t.id for t in ctx.targets]
    rm = release_stage.assemble(release_stage.from_project(ctx, ids))
    folder = ctx.dist / "release"
    assert [t.archive.name for t in rm.targets] == [
        f"hello_1.2.3_linux-amd64.{fmt}",
        f"hello_1.2.3_windows-amd64.{fmt}",
    ]
    data = (folder / f"hello_1.2.3_windows-amd64.{fmt}").read_bytes()
    magic = {"tar.xz": b"\xfd7zXZ\x00", "tar.zst": b"\x28\xb5\x2f\xfd"}[fmt]
    assert data.startswith(magic)
    members = archive.read(folder / f"hello_1.2.3_windows-amd64.{fmt}")
    assert [(m.name, m.mode, m.mtime, m.data) for m in members] == [
        ("LICENSE", 0o644, 1700000000, b"MIT\n"),
        ("hello.exe", 0o755, 1700000000, b"the bytes of windows-amd64\n"),
    ]
    assert verify.check(folder) == ([], rm)
    first = {p.name: p.read_bytes() for p in folder.iterdir()}
    release_stage.assemble(release_stage.from_project(ctx, ids))
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == first


def test_format_binary_is_the_binary_itself(context) -> None:
    """GoReleaser's `binary` format: no archive, the binary under the name template plus its
    .exe; release.files and wrap are not used for it; {binary} is the binary's file name."""
    toml = TOML.replace(
        '[release]\nfiles = ["LICENSE"]',
        '[release]\nfiles = ["LICENSE"]\nname = "{binary}_{goos}_{arch}"\nwrap = "{name}"\n'
        'format = "binary"\nformat_overrides = { linux = "tar.gz" }',
    )
    ctx = context(toml)
    (ctx.loaded.root / "LICENSE").write_text("MIT\n")
    synthetic_dist(ctx)
    rm = release_stage.assemble(release_stage.from_project(ctx, [t.id for t in ctx.targets]))
    folder = ctx.dist / "release"
    linux, windows = rm.targets
    assert (linux.archive.name, linux.archive.format) == ("hello_linux_amd64.tar.gz", "tar.gz")
    assert (windows.archive.name, windows.archive.format, windows.archive.wrap) == (
        "hello_windows_amd64.exe",
        "binary",
        None,
    )
    assert (folder / "hello_windows_amd64.exe").read_bytes() == b"the bytes of windows-amd64\n"
    assert [b.path for b in windows.binaries] == ["hello_windows_amd64.exe"]
    assert "hello_windows_amd64.exe" in (folder / "SHA256SUMS").read_text()
    assert verify.check(folder) == ([], rm)
    (folder / "hello_windows_amd64.exe").write_bytes(b"other bytes\n")
    problems, _ = verify.check(folder)
    assert any("hello_windows_amd64.exe" in p for p in problems), problems


def test_format_binary_with_two_binaries_is_refused_up_front(context) -> None:
    toml = TOML.replace('name = "hello"\n', 'name = "hello"\nbinaries = [{ name = "a" }, { name = "b" }]\n').replace(
        '[release]\nfiles = ["LICENSE"]', '[release]\nformat_overrides = { windows = "binary" }'
    )
    found = checks.problems(context(toml).loaded)
    assert any("release.format_overrides.windows: binary makes a target's one binary" in p for p in found), found
