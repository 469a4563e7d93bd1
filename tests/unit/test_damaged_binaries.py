"""The damaged-binary corpus: every damaged ELF, PE, Mach-O and wasm file gets a per-file error
or a verdict, never a traceback, within 2 s and 512 MiB each.

The cases run in worker processes (2 by default) whose address space is capped at 512 MiB
(RLIMIT_AS, so an unbounded allocation ends in MemoryError instead of taking the machine) and
whose every case runs under a 2 s interval timer. Each case's peak RSS is the kernel's VmHWM,
reset before the case through /proc/self/clear_refs (where that cannot be reset, the worker's
high-water mark so far, still an upper bound). Each case calls what the audit calls: the
format's reader directly (which may only return or raise FormatError), then `audit.audit_paths`
on the file (which reads it again through `linkage.read_facts`, the Go build info reader
included, and judges it); the 2 s cover both.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import signal
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from gobuildx.audit import linkage
from gobuildx.audit import stage as audit
from gobuildx.formats import FormatError, buildinfo, elf, macho, pe, sniff, wasm
from tests.conftest import run_gobuildx
from tests.unit.corpus import Case, Seed, corpus, crafted, seeds

BUDGET_S = 2.0
MEMORY_LIMIT = 512 * 1024 * 1024
CPU_BACKSTOP_S = 300  # a hang inside C code, where the interval timer cannot interrupt
MINIMUMS = {"elf": 200, "pe": 80, "macho-thin": 80, "macho-fat": 60, "wasm": 60}
TOTAL_MINIMUM = 400


class CaseTimeout(BaseException):
    """Raised by SIGALRM; a BaseException so no reader's `except Exception` can swallow it."""


@dataclass(frozen=True)
class Job:
    name: str
    path: str


@dataclass(frozen=True)
class Outcome:
    name: str
    problem: str | None  # None: a clean error or verdict
    verdict: str | None
    error: str | None  # the per-file error the audit shows, if any
    go_note: str | None  # why there is no Go build info
    seconds: float
    peak_kib: int  # peak RSS of the worker during the case (its ~50 MiB baseline included)


# --- worker side -------------------------------------------------------------------------
def _init_worker() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, hard))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_BACKSTOP_S, resource.getrlimit(resource.RLIMIT_CPU)[1]))
    signal.signal(signal.SIGALRM, _on_alarm)


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # "5": reset VmHWM to the current RSS
        return True
    except OSError:
        return False


def _peak_kib(was_reset: bool) -> int:
    if was_reset:
        status = Path("/proc/self/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _on_alarm(_sig: int, _frame: object) -> None:
    raise CaseTimeout()


def run_case(job: Job) -> Outcome:
    was_reset = _reset_peak()
    t0 = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, BUDGET_S)
    verdict = error = note = None
    try:
        problem = _reader_problem(Path(job.path))
        if problem is None:
            verdict, error, note, problem = _audit(Path(job.path))
    except CaseTimeout:
        problem = f"did not finish within {BUDGET_S} s"
    except MemoryError:
        problem = f"ran out of its {MEMORY_LIMIT >> 20} MiB address space"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    seconds = time.perf_counter() - t0
    return Outcome(job.name, problem, verdict, error, note, seconds, _peak_kib(was_reset))


def _reader_problem(path: Path) -> str | None:
    """The format's own reader may return or raise FormatError; anything else is a crash."""
    data = path.read_bytes()
    try:
        _read_directly(path, data)
    except FormatError:
        return None
    except Exception as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return f"{type(exc).__name__}: {exc} at {Path(where.filename).name}:{where.lineno} ({where.name})"
    return None


def _read_directly(path: Path, data: bytes) -> None:
    kind = sniff(data[:64])
    if kind == "elf":
        reader = elf.ElfReader(data)
        reader.symbols_for({n.index for n in reader.info.version_needs} | set(range(8)))
    elif kind == "pe":
        pe.read(data)
    elif kind == "macho":
        macho.read(data)
    elif kind == "wasm":
        wasm.read(data)
    buildinfo.find(data, 0, len(data))  # the whole file, however the container points


def _audit(path: Path) -> tuple[str | None, str | None, str | None, str | None]:
    """(verdict, per-file error, Go note, problem): the audit of one `--path`, without `file`/`ldd`."""
    report = audit.audit_paths([path], None, audit.Options(evidence=False))
    result = report.results[0]
    facts = result.artifacts[0] if result.artifacts else linkage.read_facts(path)
    problem = None
    if facts.error and facts.error.startswith("unreadable"):
        # read_facts turns stray struct/Index/Value errors into "unreadable": a reader bug it hid
        problem = f"a reader raised a non-FormatError: {facts.error}"
    elif facts.error and result.verdict != "fail":
        problem = f"unreadable file judged {result.verdict!r}"
    return result.verdict, facts.error, facts.go_note, problem


# --- parent side -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return corpus()


@pytest.fixture(scope="module")
def large() -> list[Case]:
    return crafted()


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory, cases: list[Case], large: list[Case]) -> Path:
    root = tmp_path_factory.mktemp("damaged")
    for i, case in enumerate(cases + large):
        (root / f"{i:04d}").write_bytes(case.data)
    return root


def _run_all(jobs: list[Job]) -> list[Outcome]:
    workers = max(1, min(2, os.cpu_count() or 1))
    ctx = multiprocessing.get_context("spawn")  # a clean interpreter: no pytest threads forked
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool:
        return list(pool.map(run_case, jobs, chunksize=32, timeout=600))


@pytest.fixture(scope="module")
def outcomes(cases: list[Case], large: list[Case], corpus_dir: Path) -> dict[str, Outcome]:
    jobs = [Job(c.name, str(corpus_dir / f"{i:04d}")) for i, c in enumerate(cases + large)]
    return {o.name: o for o in _run_all(jobs)}


def _facts_value(facts: linkage.Facts, key: str) -> object:
    if key == "go_version":
        return facts.go.go_version if facts.go else facts.go_note
    return getattr(facts, key)


@pytest.mark.parametrize("seed", seeds(), ids=lambda s: s.name)
def test_each_seed_is_a_valid_binary(seed: Seed, tmp_path: Path) -> None:
    """The seeds must parse to what they were built to hold, or the damage would prove nothing."""
    path = tmp_path / seed.name
    path.write_bytes(seed.data)
    facts = linkage.read_facts(path)
    assert facts.error is None
    assert {k: _facts_value(facts, k) for k in seed.expect} == seed.expect


def test_the_corpus_is_large_varied_and_really_damaged(cases: list[Case]) -> None:
    by_seed = {s.name: s.data for s in seeds()}
    assert len({c.name for c in cases}) == len(cases), "case names must be unique"
    assert all(c.data != by_seed[c.seed] for c in cases), "a case equal to its seed is not damaged"
    counts = Counter(c.group for c in cases)
    assert all(counts[g] >= n for g, n in MINIMUMS.items()), counts
    assert len(cases) >= TOTAL_MINIMUM
    kinds = Counter(c.name.split("/", 1)[1].split(":")[0].rstrip("0123456789") for c in cases)
    assert {"cut", "flip", "self", "set"} <= set(kinds), kinds


def test_every_damaged_file_gets_an_error_or_a_verdict(
    cases: list[Case], large: list[Case], outcomes: dict[str, Outcome]
) -> None:
    assert len(outcomes) == len(cases) + len(large)
    problems = [f"{o.name}: {o.problem}" for o in outcomes.values() if o.problem]
    assert not problems, f"{len(problems)} of {len(outcomes)} damaged files broke a reader:\n" + "\n".join(
        problems[:60]
    )
    slowest = max(outcomes.values(), key=lambda o: o.seconds)
    biggest = max(outcomes.values(), key=lambda o: o.peak_kib)
    groups = dict(sorted(Counter(c.group for c in cases + large).items()))
    print(
        f"\ndamaged-binary corpus: {len(outcomes)} files {groups}; "
        f"slowest {slowest.seconds * 1000:.1f} ms ({slowest.name}); largest peak RSS "
        f"{biggest.peak_kib / 1024:.0f} MiB ({biggest.name})"
    )
    assert slowest.seconds < BUDGET_S
    assert biggest.peak_kib * 1024 < MEMORY_LIMIT
    assert all(o.verdict in ("pass", "warn", "fail") for o in outcomes.values())


def test_crafted_files_are_turned_down_cheaply(large: list[Case], outcomes: dict[str, Outcome]) -> None:
    """Small files whose tables ask for gigabytes or millions of steps: each is refused with the
    reason the reader gives (or, inside the limits, read), within the same budget as the rest."""
    for case in large:
        o = outcomes[case.name]
        said = " / ".join(filter(None, (o.error, o.go_note)))
        if case.expect:
            assert case.expect in said, (case.name, said)
        else:
            assert o.error is None, (case.name, o.error)
        assert o.problem is None and o.seconds < BUDGET_S, (case.name, o)


def test_damage_reaches_every_format(cases: list[Case], outcomes: dict[str, Outcome]) -> None:
    """Each format gets both outcomes: damage that the reader rejects, and damage it reads past."""
    for group in MINIMUMS:
        mine = [outcomes[c.name] for c in cases if c.group == group]
        errors = sum(bool(o.error) for o in mine)
        assert 0.2 * len(mine) < errors < len(mine), (group, errors, len(mine))


# --- through the CLI, as a user runs it ----------------------------------------------------------
def _pick(cases: list[Case], large: list[Case], outcomes: dict[str, Outcome]) -> Iterator[Case]:
    """Two per format (the first file the audit rejects, the first it reads to a verdict) and the
    small crafted files."""
    for group in MINIMUMS:
        for want_error in (True, False):
            yield next(c for c in cases if c.group == group and bool(outcomes[c.name].error) == want_error)
    yield from (c for c in large if len(c.data) < 1 << 20)


def test_cli_audit_reports_each_damaged_file(
    cases: list[Case], large: list[Case], outcomes: dict[str, Outcome], tmp_path: Path
) -> None:
    paths = []
    for case in _pick(cases, large, outcomes):
        path = tmp_path / case.name.replace("/", "_").replace(":", "_")
        path.write_bytes(case.data)
        paths.append(path)
    # `file` runs on every path; `ldd` would run the host's loader on a host-CPU ELF, which a damaged
    # file gobuildx did not build must not get (issue 15 item 3), so those are audited parse-only.
    host = [p for p in paths if linkage.ldd_applicable(linkage.read_facts(p)) is None]
    others = [p for p in paths if p not in host]
    assert len(others) >= 8  # PE, Mach-O and wasm are never ldd's
    for group, extra in ((others, []), (host, ["--no-evidence"])):
        if not group:  # no host-CPU ELF among them on this host
            continue
        args = ["audit", *[a for p in group for a in ("--path", str(p))], "--format", "json", *extra]
        proc = run_gobuildx(args, cwd=tmp_path, timeout=120)
        assert "Traceback" not in proc.stderr and proc.returncode in (0, 1), proc.stderr
        results = {r["id"]: r for r in json.loads(proc.stdout)["results"]}
        assert sorted(results) == sorted(map(str, group))
        for p in group:
            r = results[str(p)]
            error = r["artifacts"][0]["error"]
            assert r["verdict"] in ("pass", "warn", "fail")
            if error:
                assert r["verdict"] == "fail" and any(error in msg for msg in r["problems"]), r
