"""[package]: its checks, the per-format architecture names, the libc dependency from an audit,
and the apk structure reader (no nfpm, no dpkg here: tests/integration/package runs those)."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from gobuildx.errors import ConfigError
from gobuildx.model.audit import AuditResult, Facts
from gobuildx.package import depends
from gobuildx.project import checks, config, platforms
from gobuildx.smoke.runners.packages import apk_structure

BASE = """
[project]
name = "hello"
dir = "hello"

[matrix.linux]
goos = ["linux"]
goarch = ["amd64"]
"""
PACKAGE = """
[package]
maintainer = "Me <me@example.org>"
description = "says hello"
"""


def load(tmp_path: Path, text: str) -> config.LoadedConfig:
    (tmp_path / "hello").mkdir(exist_ok=True)
    (tmp_path / "hello" / "main.go").write_text("package main\n\nfunc main() {}\n")
    path = tmp_path / "targets.toml"
    path.write_text(BASE + text)
    return config.load(path)


# GOARCH (+GOARM) -> (deb, rpm, apk, archlinux): nfpm v2.45.2's archTo* maps (deb/deb.go,
# rpm/rpm.go, apk/apk.go, arch/arch.go; unmapped names pass through unchanged), archlinux
# limited as GoReleaser's nfpm pipe limits it (isSupportedArchlinuxArch).
NFPM = {
    ("amd64", None): ("amd64", "x86_64", "x86_64", "x86_64"),
    ("386", None): ("i386", "i386", "x86", "i686"),
    ("arm64", None): ("arm64", "aarch64", "aarch64", "aarch64"),
    ("arm", "5"): ("armel", "armv5tel", None, None),
    ("arm", "6"): ("armhf", "armv6hl", "armhf", None),
    ("arm", "7"): ("armhf", "armv7hl", "armv7", "armv7h"),
    ("riscv64", None): ("riscv64", "riscv64", "riscv64", None),
    ("ppc64le", None): ("ppc64el", "ppc64le", "ppc64le", None),
    ("s390x", None): ("s390x", "s390x", "s390x", None),
    ("loong64", None): ("loong64", "loongarch64", "loongarch64", None),
}


@pytest.mark.parametrize(("cpu", "names"), NFPM.items(), ids=[f"{g}{a or ''}" for g, a in NFPM])
def test_architecture_names_are_nfpms(cpu: tuple[str, str | None], names: tuple[str | None, ...]) -> None:
    got = tuple(platforms.package_arch(fmt, cpu[0], cpu[1]) for fmt in config.PACKAGE_FORMATS)
    assert got == names


def test_goamd64_levels_share_amd64_and_a_deb_names_its_variant() -> None:
    assert platforms.package_arch("rpm", "amd64") == "x86_64"
    assert platforms.package_arch_variant("amd64", "v3") == "amd64v3"
    assert platforms.package_arch_variant("amd64", "v1") is None
    assert platforms.package_arch_variant("arm64", None) is None


def elf(**kw: object) -> Facts:
    return Facts.model_validate({"path": "dist/linux-amd64/hello", "format": "elf", **kw})


def audit(*facts: Facts) -> AuditResult:
    return AuditResult(id="linux-amd64", declared="-", verdict="pass", artifacts=list(facts))


GLIBC_217 = elf(static=False, libc="glibc", max_glibc="2.17", needed=["libc.so.6", "libpthread.so.0"])


@pytest.mark.parametrize(
    ("fmt", "want"),
    [("deb", "libc6 (>= 2.17)"), ("rpm", "glibc >= 2.17"), ("archlinux", "glibc>=2.17")],
)
def test_a_glibc_floor_becomes_the_distributions_glibc_package(fmt: depends.PackageFormat, want: str) -> None:
    got = depends.derive(fmt, audit(GLIBC_217), [])
    assert (got.depends, got.problems) == ([want], [])


def test_static_needs_nothing_and_dynamic_musl_needs_musl() -> None:
    static = elf(static=True, libc="none")
    assert depends.derive("deb", audit(static), []).depends == []
    musl = elf(static=False, libc="musl", needed=["libc.musl-x86_64.so.1"])
    assert depends.derive("deb", audit(musl), []).depends == ["musl"]
    assert depends.derive("apk", audit(musl), []).depends == ["musl"]


def test_alpine_has_no_glibc() -> None:
    got = depends.derive("apk", audit(GLIBC_217), [])
    assert got.depends == [] and "Alpine does not have" in got.problems[0]


def test_a_library_no_package_provides_is_an_error_unless_covered() -> None:
    a = elf(static=False, libc="glibc", max_glibc="2.28", needed=["libc.so.6", "libsqlite3.so.0", "libstdc++.so.6"])
    got = depends.derive("deb", audit(a), [])
    assert got.problems == [
        "linux-amd64: deb: hello needs libsqlite3.so.0, which no package is known to provide; name its "
        'package in package.depends and add "libsqlite3.so.0" to package.libraries'
    ]
    covered = depends.derive("deb", audit(a), ["libsqlite3.so.*"])
    assert covered.problems == [] and covered.depends == ["libc6 (>= 2.28)", "libstdc++6"]


def test_several_artifacts_give_one_glibc_dependency_at_the_highest_floor() -> None:
    older = elf(static=False, libc="glibc", max_glibc="2.3.2", needed=["libc.so.6"])
    assert depends.derive("deb", audit(older, GLIBC_217), []).depends == ["libc6 (>= 2.17)"]


def test_a_bad_format_names_file_key_and_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, PACKAGE + 'formats = ["deb", "snap"]\n')
    (message,) = err.value.problems
    assert message.startswith(f"{tmp_path / 'targets.toml'}: package.formats[1]: 'snap' is not allowed; allowed: ")
    assert "deb, rpm, apk, archlinux" in message


def test_file_problems_are_found_up_front(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        PACKAGE.replace("Me <me@example.org>", "just me")
        + 'homepage = "https://$HOST/x"\n'
        + 'man_pages = ["hello.txt"]\n'
        + 'files = [{ src = "missing.conf", dst = "/etc/hello.conf", type = "config" },\n'
        + '  { dst = "/x", type = "symlink" }]\n',
    )
    found = checks.package_problems(loaded)
    where = f"{loaded.path}: package."
    assert any(p.startswith(where + "homepage:") and "nfpm expands" in p for p in found)
    assert any(p.startswith(where + "maintainer:") for p in found)
    assert any(p.startswith(where + "files[0].src: 'missing.conf': no such file") for p in found)
    assert any(p.startswith(where + "files[1].src: required for a symlink") for p in found)
    assert any(p.startswith(where + "man_pages[0]: 'hello.txt': no such file") for p in found)
    assert any(p.startswith(where + "man_pages[0]: 'hello.txt' has no man section") for p in found)
    assert any(p.startswith(where + "description: a deb needs a long description") for p in found)


def test_package_targets_must_be_linux(tmp_path: Path) -> None:
    from gobuildx.project.matrix import Target

    loaded = load(tmp_path, PACKAGE + 'targets = ["*"]\nformat_targets = { apk = ["nothing-*"] }\n')
    targets = [
        Target.model_construct(id="linux-amd64", goos="linux", goarch="amd64"),
        Target.model_construct(id="windows-amd64", goos="windows", goarch="amd64"),
    ]
    found = checks.package_target_problems(loaded, targets)
    assert (
        found[0] == f"{loaded.path}: package.targets[0]: '*' selects windows-amd64: packages are for Linux targets only"
    )
    assert any("package.format_targets.apk: apk is not in package.formats" in p for p in found)
    assert any("package.format_targets.apk[0]" in p for p in found)


def _tar_gz(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    # apk streams are cut tar archives (no end-of-archive blocks between them)
    return gzip.compress(raw.getvalue()[: -1024 if len(raw.getvalue()) > 1024 else None])


def test_apk_structure_reads_every_stream() -> None:
    apk = _tar_gz({".PKGINFO": b"pkgname = hello\npkgver = 1.2.3-r1\n"}) + _tar_gz({"usr/bin/hello": b"\x7fELF"})
    assert apk_structure(apk, "usr/bin/hello") == ([], ["usr/bin/hello"])
    problems, _ = apk_structure(_tar_gz({"usr/bin/other": b""}), "usr/bin/hello")
    assert problems == ["no .PKGINFO", "usr/bin/hello is not in it"]


def test_the_debian_mirror_is_the_one_apt_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gobuildx.smoke.runners import debroot

    deb822 = tmp_path / "debian.sources"
    deb822.write_text(
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n"
    )
    monkeypatch.setattr(debroot, "SOURCES", (deb822,))
    assert debroot.mirror({}) == "http://mirror.example/debian"
    assert debroot.mirror({"GOBUILDX_DEBIAN_MIRROR": "http://other/debian"}) == "http://other/debian"
    legacy = tmp_path / "sources.list"
    legacy.write_text("deb [arch=amd64] http://legacy.example/debian bookworm main\n")
    monkeypatch.setattr(debroot, "SOURCES", (tmp_path / "absent", legacy))
    assert debroot.mirror({}) == "http://legacy.example/debian"
    monkeypatch.setattr(debroot, "SOURCES", ())
    assert debroot.mirror({}) == debroot.DEFAULT_MIRROR


def test_dpkg_names_info_files_of_multi_arch_same_packages_with_their_arch() -> None:
    from gobuildx.smoke.runners.debroot import _info_name

    assert _info_name("Package: libc6\nArchitecture: arm64\nMulti-Arch: same\n") == "libc6:arm64"
    assert _info_name("Package: bash\nArchitecture: arm64\nMulti-Arch: foreign\n") == "bash"


def test_a_binary_is_installed_under_its_name_not_its_per_target_file_name(tmp_path: Path) -> None:
    from gobuildx.model.manifest import ArtifactRecord
    from gobuildx.package.stage import installed_binaries

    art = ArtifactRecord(binary="yq", path="linux-amd64/yq_linux_amd64", size=1, sha256="0" * 64)
    assert installed_binaries(tmp_path, "/usr/bin", [art]) == [(tmp_path / "linux-amd64/yq_linux_amd64", "/usr/bin/yq")]


@pytest.mark.parametrize(("project", "ok"), [("x", False), ("_x", False), ("My_Tool", True), ("hello", True)])
def test_a_default_package_name_that_is_no_package_name_is_found_up_front(
    tmp_path: Path, project: str, ok: bool
) -> None:
    loaded = load(tmp_path, PACKAGE.replace("says hello", "says hello\\n\\nhello prints its version."))
    loaded = loaded.model_copy(
        update={
            "config": loaded.config.model_copy(
                update={"project": loaded.config.project.model_copy(update={"name": project})}
            )
        }
    )
    found = [p for p in checks.package_problems(loaded) if ": package.name:" in p]
    assert (found == []) is ok, found
    if not ok:
        assert "set package.name" in found[0] and repr(project) in found[0]
