"""Malformed targets.toml files never crash gobuildx: a generated corpus, and hostile files.

The corpus mutates the repository's own configs (and one seed that sets every table):
deleted lines, wrong types, unknown keys, broken syntax, duplicate keys, impossible
combinations, unknown placeholders. Each case runs through what opening a project runs,
minus Go (`config.load`, then `context.checked_targets` against the fixed platform list),
and must end in targets (exit 0) or a ConfigError whose every message names the file
(exit 2): any other exception fails the test, as does a slow or memory-hungry case.
A handful of hostile files also go through the real CLI, with no Go to be found.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gobuildx.errors import ConfigError
from gobuildx.project import config, context
from tests.unit.conftest import PLATFORMS

REPO = Path(__file__).resolve().parents[2]
SEEDS = [REPO / "targets.toml", *sorted((REPO / "examples").glob("*/targets.toml"))]
# Every table once, so that mutations reach [image], [release], [smoke], [audit], [[override]].
FULL = """[project]
name = "hello"
dir = "examples/hello"
version = "1.2.3"
ldflags = ["-s", "-X main.version={version}", "-X main.commit={commit}"]
tags = ["netgo"]
env = { GOFLAGS = "-mod=mod" }

[defaults]
cgo = false

[matrix.linux]
goos = ["linux"]
goarch = ["amd64", "arm64", "arm"]
goarm = ["7"]
exclude = [{ goarch = "arm", goarm = "6" }]
include = [{ goos = "wasip1", goarch = "wasm" }]

[[override]]
match = ["linux-arm64*"]
env = { GOGC = "off" }
ldflags = ["-X main.flavour={goarch}"]
audit = { warn_only = true }
smoke = { timeout = 30 }

[image]
repository = "127.0.0.1:5000/hello"
tags = ["{version}", "latest", "{short_commit}"]
targets = ["linux-*"]
labels = { team = "build" }
files = [{ src = "README.md", dst = "/README.md", mode = "0644" }]

[image.registries."registry.corp:5443"]
insecure = false

[release]
name = "{project}_{version}_{id}"
files = ["README.md"]
sbom = "spdx"

[audit]
require = ["scratch"]

[smoke]
args = ["-version"]
expect = "hello {goos}"
timeout = 20
"""
CASE_SECONDS = 2.0  # one small file: loading and checking it takes milliseconds
CASE_BYTES = 64 << 20  # peak Python allocation of one case


@dataclass(frozen=True)
class Case:
    name: str
    seed: int  # index into the seed texts: which directory the file is placed in
    text: str


def seed_texts() -> list[tuple[Path, str]]:
    """(directory the config belongs in, its text): the repo's configs and FULL at the root."""
    return [(p.parent, p.read_text()) for p in SEEDS] + [(REPO, FULL)]


ASSIGN = re.compile(r"^(\s*)([A-Za-z_][\w-]*)\s*=\s*(.+)$")
WRONG_VALUES = ["42", '"text"', "true", '[1, "a"]', "{ a = 1 }", "[]", "-1.5", '""']
BROKEN = ["= =", "[matrix", '"unterminated', "[[override]", "key = [1, 2", "a.b = { c = }", "\x01", "'''"]
EXTRA_TABLES = [
    # impossible combinations the schema lets through and the checks must refuse
    '[matrix.bad]\ngoos = ["wasip1"]\ngoarch = ["wasm"]\ncgo = [true]\n',
    '[matrix.bad]\ngoos = ["windows"]\ngoarch = ["amd64"]\nlibc = ["musl"]\ncgo = [true]\n',
    '[matrix.bad]\ngoos = ["linux"]\ngoarch = ["amd64"]\nmin_glibc = ["2.17"]\n',
    '[matrix.bad]\ngoos = ["linux"]\ngoarch = ["amd64"]\ngoarm = ["7"]\n',
    '[matrix.bad]\ngoos = ["plan10"]\ngoarch = ["amd64"]\n',
    '[matrix.bad]\ngoos = ["linux"]\ngoarch = ["amd64"]\nlibc = ["glibc"]\ncgo = [false]\n',
    '[matrix.bad]\ninclude = [{ goos = "linux", goarch = "amd64", min_glibc = "3.1" }]\n',
    "[matrix.bad]\ngoos = []\ngoarch = []\n",
    # templates with unknown names, and outside the project
    '[release]\nname = "{project}_{nope}"\n',
    '[release]\nname = "{id"\n',
    '[release]\nname = "../{id}"\n',
    '[release]\nfiles = ["/etc/passwd", "../x", "nope.txt"]\n',
    '[image]\nrepository = "Bad Repo"\ntags = ["{verzion}"]\n',
    '[image]\nrepository = "127.0.0.1:5000/x:tag"\ntags = []\n',
    '[image]\nrepository = "127.0.0.1:5000/x"\nfiles = [{ src = "missing", dst = "/m" }]\n',
    '[image]\nrepository = "127.0.0.1:5000/x"\ntags = ["{version.major}", "{0}", "}{"]\n',
    '[[override]]\nmatch = "linux-*"\nldflags = ["-X main.x={nope}"]\n',
    '[[override]]\nmatch = []\nsmoke = { expect = "(" }\n',
    '[smoke]\nport = 70000\nhttp_path = "healthz"\n',
    '[audit]\nmax_glibc = "2"\nrequire = ["scratchy"]\n',
]
PLACEHOLDER_SWAPS = [
    ('version = "git"', 'version = "file:VERSOIN"'),
    ('version = "1.2.3"', 'version = "1.2 beta"'),
    ("{version}", "{verzion}"),
    ("{commit}", "{comit}"),
    ("{id}", "{ident}"),
    ("{goos}", "{go.os}"),
]


def mutations(seed: int, text: str, rng: random.Random) -> Iterator[Case]:
    lines = text.splitlines()
    assigns = [i for i, line in enumerate(lines) if ASSIGN.match(line)]
    headers = [i for i, line in enumerate(lines) if line.startswith("[")]
    for i in range(len(lines)):
        if lines[i].strip() and not lines[i].lstrip().startswith("#"):
            yield Case(f"delete line {i + 1}", seed, "\n".join(lines[:i] + lines[i + 1 :]))
    for i in assigns:
        m = ASSIGN.match(lines[i])
        assert m is not None
        for value in rng.sample(WRONG_VALUES, 2):
            yield Case(f"{m[2]} = {value}", seed, _replace(lines, i, f"{m[1]}{m[2]} = {value}"))
        yield Case(f"duplicate {m[2]}", seed, "\n".join(lines[: i + 1] + [lines[i]] + lines[i + 1 :]))
    for i in headers:
        yield Case(f"unknown key under {lines[i]}", seed, _replace(lines, i, lines[i] + "\nbogus_key = 1"))
    for i in headers:
        yield Case(f"duplicate table {lines[i]}", seed, text + "\n" + lines[i] + "\n")
    for broken in BROKEN:
        at = rng.randrange(len(lines) + 1)
        yield Case(f"broken syntax {broken!r} at {at}", seed, "\n".join(lines[:at] + [broken] + lines[at:]))
    for cut in sorted(rng.sample(range(1, len(text)), 4)):
        yield Case(f"truncated at {cut}", seed, text[:cut])
    for extra in EXTRA_TABLES:
        yield Case(f"extra {extra.splitlines()[0]} {extra.splitlines()[-1]}", seed, text + "\n" + extra)
    for old, new in PLACEHOLDER_SWAPS:
        if old in text:
            yield Case(f"placeholder {new}", seed, text.replace(old, new, 1))


def _replace(lines: list[str], i: int, new: str) -> str:
    return "\n".join(lines[:i] + [new] + lines[i + 1 :])


def corpus() -> list[Case]:
    rng = random.Random(17)  # the same corpus on every run
    return [case for i, (_, text) in enumerate(seed_texts()) for case in mutations(i, text, rng)]


CORPUS = corpus()


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Per seed, a directory that looks like the seed's own (every entry symlinked, but
    targets.toml), so project.dir, main and release.files resolve as in the repository."""
    out = []
    for i, (origin, _) in enumerate(seed_texts()):
        home = tmp_path_factory.mktemp(f"seed{i}")
        for entry in origin.iterdir():
            if entry.name != "targets.toml":
                (home / entry.name).symlink_to(entry)
        out.append(home)
    return out


def open_like_the_cli(path: Path) -> tuple[int, list[str]]:
    """What `gobuildx matrix` does with the file, without Go: (exit code, messages)."""
    try:
        targets = context.checked_targets(config.load(path), PLATFORMS)
    except ConfigError as exc:
        return 2, exc.problems
    return 0, [t.id for t in targets]


def test_the_corpus_is_large_and_varied() -> None:
    assert len(CORPUS) >= 300
    kinds = {c.name.split()[0] for c in CORPUS}
    assert {"delete", "duplicate", "unknown", "broken", "truncated", "extra", "placeholder"} <= kinds


def test_every_corpus_case_ends_in_exit_0_or_2_with_a_message(homes: list[Path]) -> None:
    codes = {0: 0, 2: 0}
    tracemalloc.start()
    try:
        for case in CORPUS:
            path = homes[case.seed] / "targets.toml"
            path.write_text(case.text)
            tracemalloc.reset_peak()
            started = time.monotonic()
            code, messages = open_like_the_cli(path)  # anything but ConfigError propagates: a failure
            elapsed = time.monotonic() - started
            assert elapsed < CASE_SECONDS, f"{case.name}: {elapsed:.2f}s"
            assert tracemalloc.get_traced_memory()[1] < CASE_BYTES, case.name
            codes[code] += 1
            if code == 2:
                assert messages and all(str(path) in m for m in messages), (case.name, messages)
    finally:
        tracemalloc.stop()
    # Both outcomes occur: a corpus that all failed would hide a broken setup (a wrong dir).
    assert codes[2] >= 200 and codes[0] >= 20, codes


def test_the_unmutated_seeds_are_valid(homes: list[Path]) -> None:
    for home, (_, text) in zip(homes, seed_texts(), strict=True):
        (home / "targets.toml").write_text(text)
        code, messages = open_like_the_cli(home / "targets.toml")
        assert code == 0, messages


def test_every_table_is_checked_at_load_in_one_run(homes: list[Path]) -> None:
    """The five mistakes of issue 17, one per table, all reported by opening the project."""
    text = (
        FULL.replace('repository = "127.0.0.1:5000/hello"', 'repository = "Not A Repo!"')
        .replace('tags = ["{version}", "latest"', 'tags = ["{verzion}", "latest"')
        .replace('src = "README.md"', 'src = "READNE.md"')
        .replace('name = "{project}_{version}_{id}"', 'name = "{project}_{nope}"')
        .replace('files = ["README.md"]', 'files = ["LICENCE"]')
    )
    path = homes[-1] / "targets.toml"
    path.write_text(text)
    code, messages = open_like_the_cli(path)
    assert code == 2
    keys = [m.removeprefix(f"{path}: ").split(": ")[0] for m in messages]
    assert keys == ["image.repository", "image.tags[0]", "image.files[0].src", "release.name", "release.files[0]"]
    assert "did you mean {version}?" in messages[1]
    assert "did you mean 'README.md'?" in messages[2]


def test_image_registries_are_checked_at_load(homes: list[Path]) -> None:
    """A host that is no host, a CA that is missing or no PEM, a CA with plain HTTP; wrong types
    are the schema's (pydantic), with the allowed values."""
    text = FULL.replace(
        '[image.registries."registry.corp:5443"]\ninsecure = false\n',
        '[image.registries."https://registry.corp/v2"]\n'
        '[image.registries."a.corp"]\nca = "no-such-ca.pem"\n'
        '[image.registries."b.corp"]\nca = "README.md"\ninsecure = true\n',
    )
    path = homes[-1] / "targets.toml"
    path.write_text(text)
    code, messages = open_like_the_cli(path)
    assert code == 2
    tail = [m.removeprefix(f"{path}: ") for m in messages]
    assert tail[0].startswith(
        "image.registries.\"https://registry.corp/v2\": 'https://registry.corp/v2' is not a registry host; "
        "allowed: a host name or [IPv6] with an optional port"
    ), tail
    assert tail[1].startswith("image.registries.\"a.corp\".ca: 'no-such-ca.pem': cannot read "), tail
    assert tail[2] == (
        'image.registries."b.corp".ca: a CA is for TLS, but insecure = true speaks plain HTTP; drop one of them'
    )
    assert tail[3].startswith("image.registries.\"b.corp\".ca: 'README.md': ") and "holds no PEM certificate" in tail[3]
    path.write_text(FULL.replace("insecure = false", 'insecure = "yes"'))
    code, messages = open_like_the_cli(path)
    assert code == 2 and "image.registries.registry.corp:5443.insecure" in messages[0], messages


def test_what_needs_the_matrix_is_checked_at_load_too(homes: list[Path]) -> None:
    text = (
        FULL.replace('targets = ["linux-*"]', 'targets = ["linux-amd6"]\nbinary = "helo"')
        .replace('name = "{project}_{version}_{id}"', 'name = "{project}_{goarch}"')
        .replace('goos = ["linux"]', 'goos = ["linux", "windows"]')
        .replace('goarm = ["7"]', "")
        .replace('arch = "arm", goarm = "6"', 'arch = "arm"')
    )
    path = homes[-1] / "targets.toml"
    path.write_text(text)
    code, messages = open_like_the_cli(path)
    assert code == 2
    assert [m.removeprefix(f"{path}: ").split(": ")[0] for m in messages] == [
        "image.targets[0]",
        "image.binary",
        "release.name",
    ], messages
    assert "did you mean 'linux-amd64'?" in messages[0] and "did you mean 'hello'?" in messages[1]
    assert "'hello_amd64' for both linux-amd64 and windows-amd64" in messages[2]


@pytest.mark.parametrize(
    "version,why",
    [("file:VERSOIN", "'file:VERSOIN': no such file"), ("1.2 beta", "'1.2 beta' is not a version; allowed: \"git\"")],
)
def test_the_version_source_is_checked_at_load(homes: list[Path], version: str, why: str) -> None:
    path = homes[-1] / "targets.toml"
    path.write_text(FULL.replace('version = "1.2.3"', f'version = "{version}"'))
    code, messages = open_like_the_cli(path)
    assert code == 2 and len(messages) == 1 and messages[0].startswith(f"{path}: project.version: {why}"), messages


# --- hostile files ------------------------------------------------------------------------


def deep(depth: int) -> bytes:
    return b"x = " + b"[" * depth + b"]" * depth + b"\n"


HOSTILE: dict[str, tuple[bytes, str]] = {
    "deep array": (deep(5000), "nested too deeply"),
    "deep inline table": (b"x = " + b"{a = " * 5000 + b"1" + b"}" * 5000 + b"\n", "nested too deeply"),
    "not UTF-8": (b'[project]\nname = "h\xe9llo"\n', "not UTF-8 text"),
    "NUL byte": (b'[project]\nname = "he\x00llo"\n', "not valid TOML"),
    "binary": (bytes(range(256)) * 4, "not UTF-8 text"),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_file_is_one_message(tmp_path: Path, kind: str) -> None:
    data, why = HOSTILE[kind]
    path = tmp_path / "targets.toml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert len(err.value.problems) == 1 and why in err.value.problems[0]
    assert "\n" not in err.value.problems[0] and str(path) in err.value.problems[0]


def test_a_deeply_nested_value_that_parses_is_shown_short(tmp_path: Path) -> None:
    """Shallow enough for tomllib, deep enough that a plain repr of the bad value would be huge."""
    path = tmp_path / "targets.toml"
    path.write_text("[project]\nname = " + "[" * 400 + "]" * 400 + '\n[matrix.m]\ngoos = ["linux"]\n')
    with pytest.raises(ConfigError) as err:
        config.load(path)
    assert any("project.name" in p and len(p) < 400 for p in err.value.problems), err.value.problems


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "targets.toml"
    with path.open("wb") as fh:
        fh.truncate(100 << 20)  # sparse: 100 MB that cost no disk
    monkeypatch.setattr(Path, "open", lambda *a, **k: pytest.fail("the file was opened"))
    with pytest.raises(ConfigError, match="too large for a targets.toml"):
        config.load(path)


def test_a_directory_and_a_symlink_loop_are_named(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    (tmp_path / "loop.toml").symlink_to(tmp_path / "loop.toml")
    with pytest.raises(ConfigError, match="is a directory, not a targets.toml file"):
        config.load(tmp_path / "dir.toml")
    with pytest.raises(ConfigError, match="cannot read it: Too many levels of symbolic links"):
        config.load(tmp_path / "loop.toml")


CLI_CASES = {
    "deep.toml": deep(5000),
    "latin1.toml": b'[project]\nname = "h\xe9llo"\n',
    "nul.toml": b"[project]\x00\n",
    "broken.toml": b"[project\nname = 1\n",
    "types.toml": b'[project]\nname = 42\n[matrix.m]\ngoos = "linux"\n',
}


def test_the_real_cli_exits_2_with_one_line_per_problem_and_no_go(tmp_path: Path) -> None:
    """Loading never needs Go: with no Go anywhere, a bad file is exit 2, not 3."""
    env = {**os.environ, "GOBUILDX_GO": str(tmp_path / "no-go"), "PATH": "/nonexistent", "CI": "1"}
    (tmp_path / "a-dir.toml").mkdir()
    (tmp_path / "loop.toml").symlink_to(tmp_path / "loop.toml")
    for name, data in CLI_CASES.items():
        (tmp_path / name).write_bytes(data)
    for name in [*CLI_CASES, "a-dir.toml", "loop.toml"]:
        proc = subprocess.run(
            [sys.executable, "-m", "gobuildx", "matrix", "--config", name],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2, (name, proc.stderr)
        assert "Traceback" not in proc.stderr and proc.stderr.startswith("gobuildx: "), (name, proc.stderr)
        assert all(line.startswith(("gobuildx: ", str(tmp_path))) for line in proc.stderr.splitlines()), proc.stderr
