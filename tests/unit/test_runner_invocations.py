"""What each smoke runner would run for a synthetic job (nothing is executed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gobuildx.model.image import ImageRecord
from gobuildx.model.manifest import TargetRecord
from gobuildx.smoke.runners import wine
from gobuildx.smoke.runners.base import Check, Host, Job
from gobuildx.smoke.runners.container import ContainerRunner, ImageRootfsRunner, container
from gobuildx.smoke.runners.native import NativeRunner
from gobuildx.smoke.runners.qemu import QemuRunner
from gobuildx.smoke.runners.wasm import NodeRunner, WasmtimeRunner

TOML = """
[project]
name = "hello"
dir = "hello"
version = "1.2.3"

[matrix.m]
goos = ["linux"]
goarch = ["amd64", "arm64", "arm"]
goarm = ["7"]
include = [{ goos = "wasip1", goarch = "wasm" }, { goos = "js", goarch = "wasm" }]
"""


def job(ctx, tid: str, tmp: Path, record: TargetRecord | None = None, args: tuple[str, ...] = ("ok",)) -> Job:
    target = next(t for t in ctx.targets if t.id == tid)
    artifact = tmp / "dist" / tid / "hello"
    artifact.parent.mkdir(parents=True, exist_ok=True)
    artifact.write_bytes(b"not an ELF: no interpreter")
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("qemu-aarch64-static", "qemu-arm-static", "node"):
        (bin_dir / tool).write_text("#!/bin/sh\n")
        (bin_dir / tool).chmod(0o755)
    return Job(
        target=target,
        binary="hello",
        artifact=artifact,
        check=Check(args=list(args)),
        host=Host(goos="linux", goarch="amd64"),
        goroot=ctx.go.goroot,
        cache_dir=tmp / "cache",
        work_dir=tmp / "work" / tid,
        environ={"PATH": str(bin_dir), "HOME": str(tmp)},
        record=record,
    )


def image_record(**kw: object) -> ImageRecord:
    base = dict(
        repository="127.0.0.1:5000/hello",
        platform="linux/arm64",
        binary="hello",
        entrypoint=["/hello"],
        artifact_sha256="a" * 64,
        digest="sha256:" + "b" * 64,
        config_digest="sha256:" + "c" * 64,
        size=1234,
        builder="oci",
    )
    return ImageRecord(**{**base, **kw})  # type: ignore[arg-type]


def record_with(ctx, tid: str, image: ImageRecord | None) -> TargetRecord:
    t = next(t for t in ctx.targets if t.id == tid)
    return TargetRecord(
        id=t.id,
        goos=t.goos,
        goarch=t.goarch,
        goarm=t.goarm,
        cgo=t.cgo,
        libc=t.libc,
        link=t.link,
        status="ok",
        image=image,
    )


def test_the_host_cpu_runs_natively(context, tmp_path: Path) -> None:
    ctx = context(TOML)
    j = job(ctx, "linux-amd64", tmp_path)
    assert NativeRunner().applies(j) and not QemuRunner().applies(j)
    inv = NativeRunner().invocation(j)
    assert inv.argv == [str(j.artifact), "ok"] and inv.cwd == j.work_dir


def test_a_foreign_cpu_runs_under_its_qemu_on_the_lowest_cpu_of_its_level(context, tmp_path: Path) -> None:
    ctx = context(TOML)
    arm64 = job(ctx, "linux-arm64", tmp_path)
    assert QemuRunner().applies(arm64) and not NativeRunner().applies(arm64)
    assert QemuRunner().unsupported(arm64) is None
    assert QemuRunner().invocation(arm64).argv == [
        str(tmp_path / "bin" / "qemu-aarch64-static"),
        str(arm64.artifact),
        "ok",
    ]
    armv7 = job(ctx, "linux-armv7", tmp_path)
    assert QemuRunner().invocation(armv7).argv[1:3] == ["-cpu", "cortex-a8"]


def test_a_missing_qemu_names_its_package(context, tmp_path: Path) -> None:
    ctx = context(TOML)
    j = job(ctx, "linux-arm64", tmp_path)
    j = j.model_copy(update={"environ": {"PATH": str(tmp_path / "empty")}})
    assert "qemu-aarch64-static not on PATH" in (QemuRunner().unsupported(j) or "")


def test_wasm_runs_under_wasmtime_through_gobuildx_and_js_under_node(context, tmp_path: Path) -> None:
    ctx = context(TOML)
    wasi = job(ctx, "wasip1-wasm", tmp_path)
    assert WasmtimeRunner().applies(wasi) and not NodeRunner().applies(wasi)
    argv = WasmtimeRunner().invocation(wasi).argv
    assert argv[:3] == [sys.executable, "-m", "gobuildx.smoke.runners.wasi_main"] and argv[-2:] == [
        str(wasi.artifact),
        "ok",
    ]
    js = job(ctx, "js-wasm", tmp_path)
    (ctx.go.goroot / "lib" / "wasm").mkdir(parents=True)
    (ctx.go.goroot / "lib" / "wasm" / "wasm_exec_node.js").write_text("// Go's loader\n")
    assert NodeRunner().applies(js)
    node = NodeRunner().invocation(js).argv
    assert node[0] == str(tmp_path / "bin" / "node") and node[1].endswith("wasm_exec_node.js")


def test_image_runners_apply_only_to_a_record_with_an_image(context, tmp_path: Path) -> None:
    ctx = context(TOML)
    bare = job(ctx, "linux-arm64", tmp_path, record=record_with(ctx, "linux-arm64", None))
    assert not ContainerRunner().applies(bare) and not ImageRootfsRunner().applies(bare)
    pushed = job(ctx, "linux-arm64", tmp_path, record=record_with(ctx, "linux-arm64", image_record(pushed=True)))
    assert ContainerRunner().applies(pushed) and not ImageRootfsRunner().applies(pushed)  # nothing to unpack here
    layout = job(
        ctx,
        "linux-arm64",
        tmp_path,
        record=record_with(ctx, "linux-arm64", image_record(oci_layout=str(tmp_path / "layout"))),
    )
    assert ImageRootfsRunner().applies(layout)


def test_the_image_rootfs_runner_refuses_a_server_check(context, tmp_path: Path) -> None:
    ctx = context(TOML)
    j = job(ctx, "linux-arm64", tmp_path, record=record_with(ctx, "linux-arm64", image_record(tarball="x.tar")))
    result = ImageRootfsRunner().run(j.model_copy(update={"check": Check(port=8080)}))
    assert result.status == "skipped" and "server" in result.reason


def test_a_scratch_wine_prefix_copies_what_wine_writes_and_links_the_rest(tmp_path: Path) -> None:
    template = tmp_path / "prefix-wine-8.0"
    for folder in ("drive_c/windows/system32", "drive_c/Program Files/x", "drive_c/users/Public", "dosdevices"):
        (template / folder).mkdir(parents=True)
    (template / "system.reg").write_text("WINE REGISTRY\n")
    (template / wine.READY).write_text("shim\n")
    (template / "drive_c/windows/system32/kernel32.dll").write_bytes(b"MZ")
    (template / "dosdevices/c:").symlink_to("../drive_c")
    scratch = wine.scratch_prefix(template, tmp_path / "work" / ".wine-prefix-x")
    assert (scratch / "system.reg").read_text() == "WINE REGISTRY\n" and not (scratch / "system.reg").is_symlink()
    assert (scratch / "drive_c/users/Public").is_dir() and not (scratch / "drive_c/users").is_symlink()
    assert os.readlink(scratch / "dosdevices/c:") == "../drive_c"  # the prefix's own links stay relative
    assert (scratch / "drive_c/windows").resolve() == template / "drive_c/windows"  # linked, never copied
    assert (scratch / "drive_c/Program Files").is_symlink()
    assert not (scratch / "drive_c/Program Files (x86)").exists()  # not in the template: no dangling link
    assert not (scratch / wine.READY).exists()  # only the template is "ready"
    (scratch / "drive_c/users/Public/mine").write_text("x")
    assert not (template / "drive_c/users/Public/mine").exists()


def test_the_container_runs_contained_as_the_images_user(context, tmp_path: Path) -> None:
    """The SDK run: no network, read-only, no user of its own (the image's non-root one), no
    mount; its record is the equivalent `docker run` line."""
    ctx = context(TOML)
    amd64 = job(ctx, "linux-amd64", tmp_path).model_copy(update={"check": Check(args=["ok"], env={"A": "1"})})
    image = image_record(platform="linux/amd64")
    spec = container(amd64, image, "127.0.0.1:5000/hello:1.2.3-linux-amd64", None)
    assert (spec.network, spec.read_only, spec.entrypoint, spec.mounts) == ("none", True, None, {})
    assert spec.command == ["ok"] and spec.environment == {"A": "1"} and spec.platform == "linux/amd64"
    assert spec.name.startswith("gobuildx-smoke-linux-amd64-")
    assert (spec.memory_mib, spec.processes, spec.file_size_mib) == (1024, 256, 256)  # [smoke]'s defaults
    fsize = 256 * 1024 * 1024
    assert spec.argv() == [
        *("docker", "run", "--rm", "--name", spec.name, "--network", "none", "--read-only"),
        *("--platform", "linux/amd64", "--memory", "1024m", "--memory-swap", "1024m", "--pids-limit", "256"),
        *("--ulimit", f"fsize={fsize}:{fsize}", "-e", "A=1", "127.0.0.1:5000/hello:1.2.3-linux-amd64", "ok"),
    ]
    assert container(amd64, image, "x", None).name != spec.name  # one container per run


def test_a_foreign_cpus_container_runs_its_entrypoint_under_a_read_only_qemu(context, tmp_path: Path) -> None:
    ctx = context(TOML)
    arm64 = job(ctx, "linux-arm64", tmp_path)
    qemu = str(tmp_path / "bin" / "qemu-aarch64-static")
    spec = container(arm64, image_record(), "sha256:" + "c" * 64, qemu)
    assert spec.entrypoint == ["/qemu"] and spec.command == ["/hello", "ok"]
    assert spec.mounts == {qemu: "/qemu"} and (spec.network, spec.read_only) == ("none", True)
    digest = "sha256:" + "c" * 64
    assert spec.argv()[-7:] == ["-v", f"{qemu}:/qemu:ro", "--entrypoint", "/qemu", digest, "/hello", "ok"]


def test_the_container_runner_needs_an_engine_not_the_docker_cli(context, tmp_path: Path) -> None:
    """Availability asks the engine through the SDK where DOCKER_HOST points; PATH plays no part."""
    sock = tmp_path / "no-engine.sock"
    environ = {"PATH": str(tmp_path / "empty"), "DOCKER_HOST": f"unix://{sock}"}
    got = ContainerRunner().availability(environ)
    assert not got.available and got.detail.startswith(f"no Docker engine answers at unix://{sock}: "), got
    assert "docker CLI" not in got.detail and "docker.io" in got.install


def test_the_container_runner_refuses_a_server_check(context, tmp_path: Path) -> None:
    ctx = context(TOML)
    j = job(ctx, "linux-amd64", tmp_path, record=record_with(ctx, "linux-amd64", image_record(pushed=True)))
    result = ContainerRunner().run(j.model_copy(update={"check": Check(port=8080)}))
    assert result.status == "skipped" and "--network none" in result.reason
