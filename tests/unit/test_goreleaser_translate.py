"""`gobuildx init --from-goreleaser` on synthetic .goreleaser.yaml files: the targets, binary and
archive names GoReleaser v2.15.1 gives (its defaults worked out by hand from its source), a
written file that passes every check, and a report naming every key left untranslated."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
import yaml

from gobuildx.project import checks, config, goreleaser, gotemplate
from gobuildx.project.context import checked_targets
from gobuildx.project.goenv import Platform
from tests.unit.conftest import PLATFORMS


def translated(tmp_path: Path, text: str) -> tuple[goreleaser.Translation, config.LoadedConfig]:
    (tmp_path / "LICENSE").write_text("MIT\n")
    (tmp_path / "main.go").write_text("package main\nfunc main() {}\n")
    (tmp_path / "go.mod").write_text("module example.com/you/hello\n")
    result = goreleaser.translate(yaml.safe_load(text) or {}, "example.com/you/hello", PLATFORMS, {}, tmp_path)
    path = tmp_path / "targets.toml"
    path.write_text(tomli_w.dumps(result.data))
    return result, config.load(path)


def archive_names(loaded: config.LoadedConfig, targets=None) -> dict[str, str]:
    rel, out = loaded.config.release, {}
    # every check of `gobuildx check` that needs no Go, unless the caller checked them
    for t in checked_targets(loaded, PLATFORMS) if targets is None else targets:
        values = checks.release_values(
            loaded.config.project.name, "1.2.3", "0" * 40, t.id, t.goos, t.goarch, t.goarm, t.goamd64
        )
        out[t.id] = rel.names.get(t.id, rel.name).format(**values)
    return out


def test_defaults_are_goreleasers(tmp_path: Path) -> None:
    result, loaded = translated(tmp_path, "version: 2\n")
    # linux, darwin, windows x amd64, arm64, 386; darwin/386 is not a pair GoReleaser builds
    assert sorted(result.ids) == [
        "darwin_amd64_v1", "darwin_arm64_v8.0", "linux_386_sse2", "linux_amd64_v1", "linux_arm64_v8.0",
        "windows_386_sse2", "windows_amd64_v1", "windows_arm64_v8.0",
    ]  # fmt: skip
    names = archive_names(loaded)
    assert names["linux-amd64"] == "hello_1.2.3_linux_amd64"
    assert names["windows-386"] == "hello_1.2.3_windows_386"
    assert loaded.config.release.format == "tar.gz"  # GoReleaser: tar.gz on windows too
    assert loaded.config.release.names == {}
    assert loaded.config.release.files == ["LICENSE"]  # the default globs, expanded
    assert loaded.config.project.binary_list()[0].name == "hello"
    assert loaded.config.project.flags == []
    assert "-X main.builtBy=goreleaser" in loaded.config.project.ldflags[0]
    assert "{version}" in loaded.config.project.ldflags[0]


UNAME = """
version: 2
project_name: tool
builds:
  - env: [CGO_ENABLED=0]
    binary: toolbin
    goos: [linux, windows, darwin]
    goarch: [amd64, arm, arm64, "386"]
    goarm: ["6", "7"]
    ignore:
      - goos: linux
        goarch: arm
        goarm: "6"
archives:
  - name_template: >-
      {{ .ProjectName }}_
      {{- title .Os }}_
      {{- if eq .Arch "amd64" }}x86_64
      {{- else if eq .Arch "386" }}i386
      {{- else }}{{ .Arch }}{{ end }}
      {{- if .Arm }}v{{ .Arm }}{{ end }}
    format_overrides:
      - goos: windows
        format: zip
    wrap_in_directory: true
"""


def test_ignore_goarm_and_a_conditional_name(tmp_path: Path) -> None:
    result, loaded = translated(tmp_path, UNAME)
    ids = sorted(result.ids.values())
    # windows/arm and darwin/arm and darwin/386 are not pairs GoReleaser builds; linux armv6 ignored
    assert ids == [
        "darwin-amd64", "darwin-arm64", "linux-386", "linux-amd64", "linux-arm64", "linux-armv7",
        "windows-386", "windows-amd64", "windows-arm64",
    ]  # fmt: skip
    names = archive_names(loaded)
    assert names["linux-amd64"] == "tool_Linux_x86_64"
    assert names["linux-armv7"] == "tool_Linux_armv7"
    assert names["windows-386"] == "tool_Windows_i386"
    assert names["darwin-arm64"] == "tool_Darwin_arm64"
    assert loaded.config.release.format_overrides == {"windows": "zip"}
    assert loaded.config.release.wrap == "{name}"
    assert loaded.config.project.binary_list()[0].name == "toolbin"


def test_explicit_targets_and_amd64_levels(tmp_path: Path) -> None:
    text = "builds:\n  - targets: [go_first_class, linux_amd64_v3, linux_arm_7]\n"
    result, loaded = translated(tmp_path, text)
    assert "linux_amd64_v3" in result.ids and result.ids["linux_amd64_v3"] == "linux-amd64v3"
    assert result.ids["linux_arm_6"] == "linux-armv6" and result.ids["linux_arm_7"] == "linux-armv7"
    names = archive_names(loaded)
    assert names["linux-amd64v3"] == "hello_1.2.3_linux_amd64v3"
    assert names["linux-amd64"] == "hello_1.2.3_linux_amd64"
    assert names["linux-armv6"] == "hello_1.2.3_linux_armv6"
    assert len(names) == 10


def test_cgo_with_a_compiler_per_arch(tmp_path: Path) -> None:
    text = """
builds:
  - goos: [linux]
    goarch: [amd64, arm64]
    env:
      - CGO_ENABLED=1
      - >-
        CC={{ if eq .Arch "arm64" }}aarch64-linux-gnu-gcc{{ else }}gcc{{ end }}
"""
    result, loaded = translated(tmp_path, text)
    assert sorted(result.ids.values()) == ["linux-amd64-glibc", "linux-arm64-glibc"]
    cc = {o.match[0]: o.cc for o in loaded.config.override}
    assert cc == {"linux-amd64-glibc": "gcc", "linux-arm64-glibc": "aarch64-linux-gnu-gcc"}
    assert any(n.key == "builds[].env CGO_ENABLED" and "C toolchain" in n.text for n in result.notes)


def test_several_builds_become_binaries(tmp_path: Path) -> None:
    text = """
builds:
  - id: server
    main: ./cmd/server
    binary: server
    goos: [linux]
  - id: cli
    main: ./cmd/cli/main.go
    binary: cli
    goos: [linux, darwin]
"""
    for name in ("server", "cli"):
        (tmp_path / "cmd" / name).mkdir(parents=True)
        (tmp_path / "cmd" / name / "main.go").write_text("package main\nfunc main() {}\n")
    result, loaded = translated(tmp_path, text)
    assert [(b.name, b.main) for b in loaded.config.project.binary_list()] == [
        ("server", "./cmd/server"),
        ("cli", "./cmd/cli"),
    ]
    keys = {n.key for n in result.notes}
    assert {"builds[1]", "builds[1].main"} <= keys  # the union of platforms; a file as main


def test_every_untranslated_key_is_reported(tmp_path: Path) -> None:
    text = """
version: 2
before: {hooks: [go mod tidy]}
builds:
  - hooks: {post: [upx]}
    gcflags: [all=-N]
    mod_timestamp: "{{ .CommitTimestamp }}"
    goppc64: [power9]
    goarch: [ppc64le, amd64]
    goos: [linux]
archives:
  - formats: [tar.gz, zip]
  - id: other
checksum: {algorithm: sha512}
snapshot: {version_template: "{{ .Version }}-next"}
signs: [{artifacts: checksum}]
nfpms: [{formats: [deb]}]
dockers: [{image_templates: ["ghcr.io/you/hello:{{ .Version }}"]}]
brews: [{name: hello}]
announce: {skip: true}
something_new: 1
"""
    result, _ = translated(tmp_path, text)
    keys = {n.key for n in result.notes}
    for key in ("before", "signs[0]", "nfpms[0].maintainer", "dockers", "brews", "announce", "something_new"):
        assert key in keys
    for key in ("builds[0].hooks", "builds[0].gcflags", "builds[0].mod_timestamp", "archives[1]"):
        assert key in keys
    assert "archives[0].formats" in keys and "checksum" in keys and "snapshot" in keys
    assert "target linux_ppc64le_power9" in keys  # gobuildx has no goppc64 axis: left out, said so
    report = "\n".join(goreleaser.report_lines(result.notes))
    assert "[package]" in report and "[sign]" in report


def test_target_this_go_lacks_is_reported(tmp_path: Path) -> None:
    result, _ = translated(tmp_path, "builds:\n  - goos: [linux, netbsd]\n    goarch: [amd64]\n")
    assert list(result.ids) == ["linux_amd64_v1"]
    assert any(n.key == "target netbsd_amd64_v1" for n in result.notes)


def test_go_templates() -> None:
    fields = {"Os": "linux", "Arch": "arm", "Arm": "7", "Version": "1.0", "Env": {"X": "y"}}
    assert gotemplate.render("{{ .Os }}-{{- .Arch -}} -{{ with .Arm }}v{{ . }}{{ end }}", fields) == "linux-arm-v7"
    assert (
        gotemplate.render('{{ if eq .Arch "amd64" }}a{{ else if eq .Arch "arm" }}b{{ else }}c{{ end }}', fields) == "b"
    )
    assert gotemplate.render('{{ .Env.X | toupper }}{{ replace .Version "." "_" }}', fields) == "Y1_0"
    assert gotemplate.render("{{ if not .Arm }}no{{ end }}{{ title .Os }}", fields) == "Linux"
    for bad in ("{{ .Nope }}", "{{ range .Os }}{{ end }}", "{{ incpatch .Version }}", "{{ if .Os }}x"):
        with pytest.raises(gotemplate.Unsupported):
            gotemplate.render(bad, fields)


def test_unsupported_template_is_reported_not_guessed(tmp_path: Path) -> None:
    text = 'archives:\n  - name_template: "{{ .ProjectName }}_{{ incpatch .Version }}_{{ .Os }}"\n'
    result, loaded = translated(tmp_path, text)
    assert any(n.key == "archives[0].name_template" and "incpatch" in n.text for n in result.notes)
    assert loaded.config.release.name == "{project}_{version}_{id}"  # gobuildx's default, said so


def test_new_release_keys_are_checked(tmp_path: Path) -> None:
    (tmp_path / "main.go").write_text("package main\nfunc main() {}\n")
    (tmp_path / "go.mod").write_text("module example.com/you/hello\n")
    (tmp_path / "targets.toml").write_text(
        '[project]\nname = "hello"\n[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n'
        '[release]\nwrap = "{nme}"\nnames = { linux-arm64 = "x_{arch}" }\n'
    )
    loaded = config.load(tmp_path / "targets.toml")
    with pytest.raises(Exception) as err:
        checked_targets(loaded, PLATFORMS)
    text = str(err.value)
    assert "release.wrap: '{nme}': unknown placeholder {nme}" in text and "did you mean {name}?" in text
    assert "release.names: 'linux-arm64' matches no target" in text


def binary_files(loaded: config.LoadedConfig) -> dict[str, list[str]]:
    """Each target's binary file names, as the build stage names them."""
    project = loaded.config.project
    return {
        t.id: [checks.binary_file(project.name, b, t, loaded.path) for b in project.binary_list()]
        for t in checked_targets(loaded, PLATFORMS)
    }


def test_a_binary_named_per_target_gets_a_file_template(tmp_path: Path) -> None:
    # yq's: .Arch alone, so linux_arm_6 is yq_linux_arm (not armv6); windows adds .exe
    text = "builds:\n  - binary: yq_{{ .Os }}_{{ .Arch }}\n    goos: [linux, windows]\n    goarch: [amd64, arm]\n"
    result, loaded = translated(tmp_path, text)
    (binary,) = loaded.config.project.binary_list()
    assert (binary.name, binary.file) == ("yq", "yq_{goos}_{goarch}")
    assert binary_files(loaded) == {
        "linux-amd64": ["yq_linux_amd64"],
        "linux-armv6": ["yq_linux_arm"],
        "windows-amd64": ["yq_windows_amd64.exe"],
    }
    assert not any(n.key == "builds[0].binary" for n in result.notes)  # nothing differs


def test_a_binary_file_with_the_variant_and_a_literal_os(tmp_path: Path) -> None:
    text = """
builds:
  - id: server
    binary: "srv-linux-{{ .Arch }}{{ with .Arm }}v{{ . }}{{ end }}"
    goos: [linux]
    goarch: [amd64, arm]
    goarm: [7]
"""
    _, loaded = translated(tmp_path, text)
    assert loaded.config.project.binary_list()[0].file == "srv-linux-{arch}"  # the fewest placeholders
    assert binary_files(loaded) == {"linux-amd64": ["srv-linux-amd64"], "linux-armv7": ["srv-linux-armv7"]}


def test_a_binary_file_that_fits_not_every_target_is_reported(tmp_path: Path) -> None:
    text = """
builds:
  - binary: '{{ if eq .Os "darwin" }}tool-mac{{ else }}tool-{{ .Os }}{{ end }}'
    goos: [linux, darwin, freebsd]
    goarch: [amd64]
"""
    result, loaded = translated(tmp_path, text)
    assert loaded.config.project.binary_list()[0].file == "tool-{goos}"
    (note,) = [n for n in result.notes if n.key == "builds[0].binary"]
    assert note.kind == "differs" and "darwin_amd64_v1" in note.text


def test_binary_file_templates_are_checked(tmp_path: Path) -> None:
    (tmp_path / "main.go").write_text("package main\nfunc main() {}\n")
    (tmp_path / "go.mod").write_text("module example.com/you/hello\n")
    (tmp_path / "targets.toml").write_text(
        '[project]\nname = "hello"\n[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64", "arm64"]\n'
        '[[project.binaries]]\nname = "a"\nfile = "x_{gos}"\n'
        '[[project.binaries]]\nname = "b"\nfile = "x/{goos}"\n'
    )
    with pytest.raises(Exception) as err:
        checked_targets(config.load(tmp_path / "targets.toml"), PLATFORMS)
    text = str(err.value)
    assert "project.binaries[0].file: 'x_{gos}': unknown placeholder {gos}" in text and "did you mean {goos}?" in text
    assert "project.binaries[1].file: 'x/{goos}' gives 'x/linux', which is not a plain file name" in text
    (tmp_path / "targets.toml").write_text(
        '[project]\nname = "hello"\n[matrix.m]\ngoos = ["linux"]\ngoarch = ["amd64"]\n'
        '[[project.binaries]]\nname = "a"\nfile = "x_{goos}"\n'
        '[[project.binaries]]\nname = "b"\nmain = "."\nfile = "x_linux"\n'
    )
    with pytest.raises(Exception) as err:
        checked_targets(config.load(tmp_path / "targets.toml"), PLATFORMS)
    assert "'a' and 'b' are both built to 'x_linux' on linux-amd64" in str(err.value)


def test_format_binary_and_its_default_name(tmp_path: Path) -> None:
    # goose's: formats [binary]; with no name_template GoReleaser's default starts with .Binary
    text = """
builds:
  - binary: tool_{{ .Os }}
    goos: [linux, windows]
    goarch: [amd64]
archives:
  - formats: [binary]
"""
    _, loaded = translated(tmp_path, text)
    rel = loaded.config.release
    assert (rel.format, rel.name) == ("binary", "{binary}_{version}_{goos}_{arch}")
    assert checks.problems(loaded) == []
    t = checked_targets(loaded, PLATFORMS)[1]
    binary = checks.binary_stem("hello", loaded.config.project.binaries[0], t, loaded.path)
    values = checks.release_values("hello", "1.2.3", "0" * 40, t.id, t.goos, t.goarch, t.goarm, t.goamd64, binary)
    assert rel.name.format(**values) == "tool_windows_1.2.3_windows_amd64"  # + .exe, as GoReleaser's


@pytest.mark.parametrize(
    ("formats", "fmt", "note"),
    [
        ("[tar.xz]", "tar.xz", None),
        ("[tar.zst, zip]", "tar.zst", "one archive per target; tar.zst only"),
        ("[txz]", "tar.xz", "named .tar.xz"),
        ("[tar]", "tar.gz", "compresses every tar"),
    ],
)
def test_archive_formats(tmp_path: Path, formats: str, fmt: str, note: str | None) -> None:
    text = f"builds:\n  - goos: [linux]\n    goarch: [amd64]\narchives:\n  - formats: {formats}\n"
    result, loaded = translated(tmp_path, text)
    assert loaded.config.release.format == fmt
    found = [n.text for n in result.notes if n.key == "archives[0].formats"]
    assert (note is None and not found) or any(note in t for t in found), found


def test_format_binary_with_two_binaries_is_reported(tmp_path: Path) -> None:
    text = """
builds:
  - {id: a, binary: a}
  - {id: b, binary: b}
archives:
  - formats: [binary]
    name_template: "{{ .Binary }}"
"""
    result, loaded = translated(tmp_path, text)
    assert loaded.config.release.format == "tar.gz"
    assert any(n.key == "archives[0]" and "several binaries" in n.text for n in result.notes)


def test_dockers_v2_becomes_image(tmp_path: Path) -> None:
    # goose's: one repository, templated tags, labels, two platforms
    text = """
builds:
  - goos: [linux, darwin]
    goarch: [amd64, arm64, arm]
    goarm: [7]
dockers_v2:
  - images: [ghcr.io/pressly/goose]
    dockerfile: goreleaser.Dockerfile
    platforms: [linux/amd64, linux/arm/v7]
    tags: ["{{ .Tag }}", "{{ if not .Prerelease }}v{{ .Major }}{{ end }}", latest]
    labels:
      org.opencontainers.image.title: goose
      org.opencontainers.image.source: https://github.com/pressly/goose
      org.opencontainers.image.licenses: MIT
      org.opencontainers.image.revision: "{{ .FullCommit }}"
"""
    result, loaded = translated(tmp_path, text)
    image = loaded.config.image
    assert image is not None
    assert (image.repository, image.tags, image.targets) == (
        "ghcr.io/pressly/goose",
        ["v{version}", "latest"],
        ["linux-amd64", "linux-armv7"],
    )
    assert image.labels == {"org.opencontainers.image.licenses": "MIT"}
    assert image.source == "https://github.com/pressly/goose"
    keys = {n.key: n for n in result.notes}
    assert (
        keys["dockers_v2[0].dockerfile"].kind == "untranslated"
        and "[image].files" in keys["dockers_v2[0].dockerfile"].text
    )
    assert keys["dockers_v2[0].tags"].kind == "untranslated"  # .Prerelease/.Major: no such placeholder
    assert keys["dockers_v2[0].labels org.opencontainers.image.revision"].kind == "differs"
    assert checks.problems(loaded) == [] and checked_targets(loaded, PLATFORMS)


def test_dockers_and_manifests_become_one_image(tmp_path: Path) -> None:
    # mockery's: one image per arch, joined by docker_manifests; the index's tags are the tags
    text = """
builds:
  - {id: a, binary: a, goos: [linux], goarch: [amd64, arm64]}
  - {id: b, binary: b, goos: [linux], goarch: [amd64, arm64]}
dockers:
  - image_templates: ["vektra/mockery:{{ .Tag }}-amd64"]
    ids: [b]
    build_flag_templates: ["--pull", "--label=org.opencontainers.image.name={{.ProjectName}}", "--platform=linux/amd64"]
  - image_templates: ["vektra/mockery:{{ .Tag }}-arm64"]
    goarch: arm64
    ids: [b]
docker_manifests:
  - name_template: vektra/mockery:{{ .Tag }}
  - name_template: vektra/mockery:latest
  - name_template: vektra/mockery:{{ .Major }}
"""
    result, loaded = translated(tmp_path, text)
    image = loaded.config.image
    assert image is not None
    assert (image.repository, image.tags, image.targets, image.binary) == (
        "vektra/mockery", ["v{version}", "latest"], ["linux-*"], "b",
    )  # fmt: skip
    assert image.labels == {"org.opencontainers.image.name": "hello"}
    assert any(n.key == "docker_manifests" for n in result.notes)
    assert checks.problems(loaded) == [] and checked_targets(loaded, PLATFORMS)


def test_kos_become_image_and_what_is_left_is_reported(tmp_path: Path) -> None:
    text = """
builds:
  - {goos: [linux], goarch: [amd64, arm64]}
kos:
  - repositories: [ghcr.io/you/hello, docker.io/you/hello]
    base_image: cgr.dev/chainguard/static
    bare: true
    tags: ["{{ .Version }}", "{{ .ShortCommit }}"]
    platforms: [linux/amd64, linux/s390x]
"""
    result, loaded = translated(tmp_path, text)
    image = loaded.config.image
    assert image is not None
    assert (image.repository, image.tags, image.targets) == (
        "ghcr.io/you/hello",
        ["{version}", "{short_commit}"],
        ["linux-amd64"],
    )
    keys = {n.key for n in result.notes}
    assert {"kos[0].base_image", "kos[0].bare", "kos platform linux/s390x", "kos[0]"} <= keys


def test_an_image_of_no_repository_is_reported_not_written(tmp_path: Path) -> None:
    result, loaded = translated(tmp_path, "kos:\n  - platforms: [linux/amd64]\n")  # ko's $KO_DOCKER_REPO, unset
    assert loaded.config.image is None
    assert any(n.key == "kos" and n.kind == "untranslated" for n in result.notes)


def test_gomips_go386_and_goarm64_variants(tmp_path: Path) -> None:
    # lego's gomips [hardfloat, softfloat]; a go386 and a goarm64 list; GoReleaser's names kept
    text = """
builds:
  - goos: [linux]
    goarch: [386, arm64, mips, mips64le]
    gomips: [hardfloat, softfloat]
    go386: [sse2, softfloat]
    goarm64: [v8.0, "v9.0,lse"]
archives:
  - name_template: >-
      {{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}{{ with .Mips }}_{{ . }}{{ end }}
      {{- with .I386 }}_{{ . }}{{ end }}{{ if eq .Arm64 "v9.0,lse" }}_v9{{ end }}
"""
    platforms = [
        *PLATFORMS,
        *(Platform(goos="linux", goarch=a, cgo_supported=True, first_class=False) for a in ("mips", "mips64le")),
    ]
    (tmp_path / "main.go").write_text("package main\nfunc main() {}\n")
    (tmp_path / "go.mod").write_text("module example.com/you/hello\n")
    result = goreleaser.translate(yaml.safe_load(text), "example.com/you/hello", platforms, {}, tmp_path)
    assert result.ids == {
        "linux_386_sse2": "linux-386", "linux_386_softfloat": "linux-386-softfloat",
        "linux_arm64_v8.0": "linux-arm64", "linux_arm64_v9.0,lse": "linux-arm64-v9.0-lse",
        "linux_mips_hardfloat": "linux-mips", "linux_mips_softfloat": "linux-mips-softfloat",
        "linux_mips64le_hardfloat": "linux-mips64le", "linux_mips64le_softfloat": "linux-mips64le-softfloat",
    }  # fmt: skip
    (tmp_path / "targets.toml").write_text(tomli_w.dumps(result.data))
    loaded = config.load(tmp_path / "targets.toml")
    targets = {t.id: t for t in checked_targets(loaded, platforms)}
    assert sorted(targets) == sorted(result.ids.values())
    assert targets["linux-mips64le-softfloat"].go_env()["GOMIPS64"] == "softfloat"
    names = archive_names(loaded, targets.values())
    # GoReleaser's default name: {{ with .Mips }}_{{ . }}{{ end }}, hardfloat included; no .Arm64 or .386
    assert names["linux-mips"] == "hello_1.2.3_linux_mips_hardfloat"
    assert names["linux-mips64le-softfloat"] == "hello_1.2.3_linux_mips64le_softfloat"
    assert (names["linux-386"], names["linux-386-softfloat"]) == (
        "hello_1.2.3_linux_386_sse2",
        "hello_1.2.3_linux_386_softfloat",
    )
    assert (names["linux-arm64"], names["linux-arm64-v9.0-lse"]) == (
        "hello_1.2.3_linux_arm64",
        "hello_1.2.3_linux_arm64_v9",
    )
    assert not any(n.key.startswith("target ") for n in result.notes)


def test_signs_say_which_sign_table_to_write(tmp_path: Path) -> None:
    text = """
signs:
  - artifacts: checksum
  - cmd: cosign
    artifacts: all
    args: [sign-blob, "--bundle=${signature}", "${artifact}", --yes]
  - cmd: cosign
    artifacts: checksum
    args: [sign-blob, --key=cosign.key, "--output-signature=${signature}", "${artifact}"]
  - {}
  - cmd: cosign
    artifacts: checksum
    args: [sign-blob, --key, "env://COSIGN_PRIVATE_KEY", "${artifact}"]
  - cmd: cosign
    artifacts: checksum
    args: [sign-blob, "${artifact}", --key]
"""
    result, loaded = translated(tmp_path, text)
    assert loaded.config.sign is None  # no key gobuildx could read: a table would stop the first release
    notes = {n.key: n.text for n in result.notes if n.key.startswith("signs")}
    assert "[sign.gpg]" in notes["signs[0]"] and 'files = "sums"' in notes["signs[0]"]
    assert "keyless" in notes["signs[1]"] and 'files = "archives"' in notes["signs[1]"]
    assert 'key = "cosign.key"' in notes["signs[2]"] and "COSIGN_PASSWORD" in notes["signs[2]"]
    assert "signs nothing" in notes["signs[3]"]
    assert 'key_env = "COSIGN_PRIVATE_KEY"' in notes["signs[4]"]  # env:// is cosign's, not a KMS
    assert "keyless or KMS" in notes["signs[5]"]  # --key without a value: no key named, no traceback


NFPMS = """
version: 2
builds:
  - {id: cli, binary: hello, goos: [linux, darwin], goarch: [amd64, arm64]}
nfpms:
  - id: packages
    ids: [cli]
    package_name: hello-tool
    formats: [deb, rpm, ipk]
    vendor: You
    homepage: "https://example.org/{{ .ProjectName }}"
    maintainer: You <you@example.org>
    description: |-
      says hello
      a longer text about saying hello.
    license: MIT
    section: net
    priority: extra
    bindir: /usr/local/bin
    contents:
      - {src: hello.conf, dst: /etc/hello/hello.conf, type: config, expand: true}
      - {src: hello.conf, dst: /etc/hello/defaults.conf, type: "config|noreplace", file_info: {mode: 0600}}
      - {dst: /var/lib/hello, type: dir, file_info: {mode: 0o750, owner: hello, group: hello}}
      - {src: /usr/local/bin/hello, dst: /usr/bin/hi, type: symlink}
      - {src: ./LICENSE, dst: ./usr/share/doc/hello/LICENSE, file_info: {mode: 420}}
      - {src: "docs/*.md", dst: /usr/share/doc/hello/}
      - {src: missing.txt, dst: /usr/share/hello/missing.txt}
      - {src: hello.conf, dst: /etc/hello/ghost, type: ghost}
      - {src: hello.conf, dst: /etc/hello/deb-only, packager: deb}
      - {src: hello.conf, dst: /etc/hello/plain.conf}
      - {src: completions/hello.bash, dst: /etc/bash_completion.d/hello}
      - {src: completions/_hello, dst: /usr/local/share/zsh/site-functions/_hello}
      - {src: completions/hello.bash, dst: /usr/share/bash-completion/completions/other}
      - {src: completions/hello.fish, dst: /usr/share/fish/vendor_completions.d/hello.fish}
    scripts:
      postinstall: scripts/postinstall.sh
      preremove: scripts/gone.sh
    dependencies: [ca-certificates]
    recommends: [git]
    suggests: [vim]
    conflicts: [hello-old]
    provides: [hello]
    replaces: [hello-old]
    epoch: "2"
    file_name_template: "{{ .ConventionalFileName }}"
    rpm:
      signature: {key_file: key.gpg}
    deb:
      lintian_overrides: [statically-linked-binary]
"""


def test_nfpms_become_a_package_table(tmp_path: Path) -> None:
    (tmp_path / "hello.conf").write_text("greeting = hi\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "postinstall.sh").write_text("#!/bin/sh\n")
    (tmp_path / "completions").mkdir()
    (tmp_path / "completions" / "hello.bash").write_text("complete -F _hello hello\n")
    (tmp_path / "completions" / "_hello").write_text("#compdef hello\n")
    result, loaded = translated(tmp_path, NFPMS)
    checked_targets(loaded, PLATFORMS)  # every check of `gobuildx check` that needs no Go
    table = loaded.config.package
    assert table is not None
    assert table.formats == ["deb", "rpm"] and table.targets == ["linux-*"]  # ids: the Linux targets of cli
    assert (table.name, table.vendor, table.license, table.section, table.priority) == (
        "hello-tool", "You", "MIT", "net", "extra",
    )  # fmt: skip
    assert table.homepage == "https://example.org/hello"  # the template filled
    assert table.maintainer == "You <you@example.org>"
    assert table.description == "says hello\na longer text about saying hello."
    assert table.bindir == "/usr/local/bin"
    files = [f.model_dump(exclude_defaults=True) for f in table.files]
    assert files == [
        {"dst": "/etc/hello/hello.conf", "src": "hello.conf", "type": "config"},
        {"dst": "/etc/hello/defaults.conf", "src": "hello.conf", "type": "config", "mode": "0600"},
        {"dst": "/var/lib/hello", "type": "dir", "mode": "0750", "owner": "hello", "group": "hello"},
        {"dst": "/usr/bin/hi", "src": "/usr/local/bin/hello", "type": "symlink"},
        {"dst": "/usr/share/doc/hello/LICENSE", "src": "LICENSE", "mode": "0644"},  # ./ dst made absolute
        {"dst": "/etc/hello/plain.conf", "src": "hello.conf", "type": "config"},  # in /etc: a conffile
        {"dst": "/usr/share/bash-completion/completions/other", "src": "completions/hello.bash"},  # not hello's
    ]
    # completions of the binary (legacy places too) go where each shell looks
    assert table.completions == {"bash": "completions/hello.bash", "zsh": "completions/_hello"}
    assert table.scripts.postinstall == "scripts/postinstall.sh" and table.scripts.preremove is None
    assert (table.depends, table.recommends, table.conflicts) == (["ca-certificates"], ["git"], ["hello-old"])
    assert (table.provides, table.replaces) == (["hello"], ["hello-old"])
    notes = {n.key: n for n in result.notes if n.key.startswith("nfpms")}
    untranslated = ["formats ipk", "contents[0].expand", "contents[5]", "contents[6]", "contents[7]"]
    untranslated += ["contents[8]", "scripts.preremove", "suggests", "epoch", "file_name_template"]
    untranslated += ["rpm.signature", "deb.lintian_overrides"]
    for key in untranslated:
        assert notes[f"nfpms[0].{key}"].kind == "untranslated", key
    assert "not a file in the checkout" in notes["nfpms[0].contents[6]"].text
    assert "as package.completions.fish" in notes["nfpms[0].contents[13]"].text  # made by a hook: not there yet
    assert "ghost" in notes["nfpms[0].contents[7]"].text and "deb" in notes["nfpms[0].contents[8]"].text
    assert "does not sign packages" in notes["nfpms[0].rpm.signature"].text


def test_nfpms_schema_1_format_and_builds(tmp_path: Path) -> None:
    text = """
builds:
  - {id: a, binary: one, goos: [linux], goarch: [amd64, arm64]}
  - {id: b, binary: two, goos: [linux], goarch: [arm64]}
nfpms:
  - builds: [b]
    format: rpm
    maintainer: You <you@example.org>
    description: one line is enough for an rpm
"""
    result, loaded = translated(tmp_path, text)
    checked_targets(loaded, PLATFORMS)
    table = loaded.config.package
    assert table is not None and table.formats == ["rpm"]
    assert table.targets == ["linux-arm64"]  # the targets build b makes
    assert table.description == "one line is enough for an rpm"  # no deb: not lengthened
    (note,) = [n for n in result.notes if n.key == "nfpms[0].ids"]
    assert note.kind == "differs" and "one" in note.text  # gobuildx's linux-arm64 package has `one` too


def test_nfpms_one_line_description_for_a_deb_and_metadata(tmp_path: Path) -> None:
    text = """
version: 2
metadata:
  maintainers: ["You <you@example.org>"]
  homepage: https://example.org
nfpms:
  - formats: [deb]
    description: says hello
"""
    result, loaded = translated(tmp_path, text)
    checked_targets(loaded, PLATFORMS)  # a deb needs a long description: the check passes
    table = loaded.config.package
    assert table is not None
    assert table.maintainer == "You <you@example.org>" and table.homepage == "https://example.org"
    # a deb's long description must be there and not the summary again (lintian errors both)
    assert table.description == "says hello\nIt installs /usr/bin/hello. More about it: https://example.org"
    notes = {n.key: n.kind for n in result.notes}
    assert notes["nfpms[0].description"] == notes["nfpms[0].maintainer"] == "differs"


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ("{formats: [deb], maintainer: Just A Name, description: x}", "nfpms[0].maintainer"),
        ("{formats: [deb], maintainer: you@example.org, description: x}", "nfpms[0].maintainer"),
        ("{formats: [deb], maintainer: You <you@example.org>}", "nfpms[0].description"),
        ("{maintainer: You <you@example.org>, description: x}", "nfpms[0]"),  # no formats
        ("{formats: [ipk], maintainer: You <you@example.org>, description: x}", "nfpms[0].formats ipk"),
        ("{formats: [deb], ids: [nothing], maintainer: You <you@example.org>, description: x}", "nfpms[0]"),
    ],
)
def test_nfpms_that_cannot_be_a_valid_table_get_none(tmp_path: Path, entry: str, key: str) -> None:
    result, loaded = translated(tmp_path, f"version: 2\nnfpms:\n  - {entry}\n")
    assert loaded.config.package is None
    checked_targets(loaded, PLATFORMS)  # the written file still passes
    assert any(n.key == key and n.kind == "untranslated" for n in result.notes)


def test_nfpms_overrides(tmp_path: Path) -> None:
    text = """
version: 2
nfpms:
  - formats: [deb, rpm]
    maintainer: You <you@example.org>
    description: "says hello\\nat length"
    recommends: [git]
    overrides:
      deb: {dependencies: [libc-bin], recommends: [golang-go], conflicts: [old]}
      rpm: {dependencies: [libc-bin], recommends: [/usr/bin/go]}
      apk: {dependencies: [musl]}
"""
    result, loaded = translated(tmp_path, text)
    checked_targets(loaded, PLATFORMS)
    table = loaded.config.package
    assert table is not None
    assert table.depends == ["libc-bin"]  # the same for every format: [package] can say it
    assert table.recommends == ["git"] and table.conflicts == []  # per format: left as the entry's
    notes = {n.key: n.kind for n in result.notes}
    assert notes["nfpms[0].overrides.dependencies"] == "differs"
    for key in ("overrides.deb.recommends", "overrides.rpm.recommends", "overrides.deb.conflicts", "overrides.apk"):
        assert notes[f"nfpms[0].{key}"] == "untranslated", key


def test_nfpms_override_of_the_one_format_is_the_table(tmp_path: Path) -> None:
    text = """
version: 2
nfpms:
  - formats: [rpm]
    maintainer: You <you@example.org>
    description: says hello
    overrides:
      rpm:
        dependencies: [git]
        contents: [{src: LICENSE, dst: /usr/share/licenses/hello/LICENSE}]
        suggests: [vim]
        rpm: {group: Applications}
"""
    result, loaded = translated(tmp_path, text)
    checked_targets(loaded, PLATFORMS)
    table = loaded.config.package
    assert table is not None and table.depends == ["git"]
    assert [(f.src, f.dst) for f in table.files] == [("LICENSE", "/usr/share/licenses/hello/LICENSE")]
    untranslated = {n.key for n in result.notes if n.kind == "untranslated" and n.key.startswith("nfpms")}
    assert untranslated == {"nfpms[0].overrides.rpm.suggests", "nfpms[0].overrides.rpm.rpm"}  # never dropped silently


def test_nfpms_binary_named_per_target_and_the_copyright_file(tmp_path: Path) -> None:
    text = """
version: 2
builds:
  - {binary: "hello_{{ .Os }}_{{ .Arch }}", goos: [linux], goarch: [amd64, arm64]}
nfpms:
  - formats: [deb]
    maintainer: You <you@example.org>
    description: "says hello\\nat length"
    contents: [{src: LICENSE, dst: /usr/share/doc/hello/copyright}]
"""
    result, loaded = translated(tmp_path, text)
    checked_targets(loaded, PLATFORMS)
    assert loaded.config.package is not None and loaded.config.package.files == []  # gobuildx writes it
    notes = {n.key: n for n in result.notes if n.key.startswith("nfpms")}
    assert notes["nfpms[0].contents[0]"].kind == "differs"
    assert (
        "as /usr/bin/hello;" in notes["nfpms[0].bindir"].text and "hello_linux_{arch}" in notes["nfpms[0].bindir"].text
    )


def test_nfpms_templated_differently_per_target_is_reported(tmp_path: Path) -> None:
    text = """
version: 2
builds: [{goos: [linux], goarch: [amd64, arm64]}]
nfpms:
  - formats: [rpm]
    maintainer: You <you@example.org>
    description: "hello for {{ .Arch }}"
    homepage: "https://example.org/{{ .Version }}"
"""
    result, loaded = translated(tmp_path, text)
    assert loaded.config.package is None  # the description is required, and differs per target
    keys = {n.key for n in result.notes if n.kind == "untranslated"}
    assert {"nfpms[0].description", "nfpms[0].homepage"} <= keys


def test_ko_platforms_all_is_every_linux_target(tmp_path: Path) -> None:
    text = "builds:\n  - {goos: [linux, darwin], goarch: [amd64, arm]}\n"
    text += "kos:\n  - {repository: ghcr.io/you/hello, platforms: [all]}\n"
    _, loaded = translated(tmp_path, text)
    assert loaded.config.image is not None and loaded.config.image.targets == ["linux-*"]


def test_format_overrides_with_the_new_formats(tmp_path: Path) -> None:
    text = """
builds:
  - {goos: [linux, darwin, windows], goarch: [amd64]}
archives:
  - format: tar.zst
    format_overrides:
      - {goos: windows, format: zip}
      - {goos: darwin, formats: [binary]}
"""
    result, loaded = translated(tmp_path, text)
    rel = loaded.config.release
    assert (rel.format, rel.format_overrides) == ("tar.zst", {"darwin": "binary", "windows": "zip"})
    assert checks.problems(loaded) == []


def test_nfpms_apk_of_cgo_targets_and_a_project_name_no_package_has(tmp_path: Path) -> None:
    text = """
version: 2
project_name: My_Tool
builds: [{env: [CGO_ENABLED=1], goos: [linux], goarch: [amd64]}]
nfpms:
  - formats: [deb, apk]
    maintainer: You <you@example.org>
    description: "says hello\\nat length"
"""
    result, loaded = translated(tmp_path, text)
    table = loaded.config.package
    assert table is not None and table.formats == ["deb"]  # a glibc-linked binary cannot go into an apk
    assert table.name is None  # gobuildx's default from My_Tool is my-tool, a valid name
    notes = {n.key: n.kind for n in result.notes}
    assert notes["nfpms[0].formats apk"] == "untranslated" and notes["nfpms[0].package_name"] == "differs"
