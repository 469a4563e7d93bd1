"""Benchmark: gobuildx's linkage parser against the classic `file` + `readelf -dV` loop.

Builds three ~10 MB Go binaries (pure static, cgo dynamic glibc, cgo PIE; all
with symbols and DWARF), copies them into 30 artifacts, then times side by side in one run:

  loop       : for each file, run `file -b` and `readelf -dVW` (what a shell script does)
  parse      : gobuildx.audit.linkage.read_facts on each file (headers, .dynamic, version tables)
  full       : gobuildx.audit.linkage.read_many with evidence (parse + `file` + `ldd`, threads)
  pyelftools : DT_NEEDED + version needs + every versioned dynamic symbol via pyelftools objects

and prints the ratios. Usage: .venv/bin/python bench/audit.py [--copies 30] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gobuildx.audit import linkage

PROGRAM = """package main

import (
	"archive/zip"
	"compress/gzip"
	"crypto/tls"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"debug/dwarf"
	"debug/elf"
	"encoding/gob"
	"expvar"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"net/rpc"
	"html/template"
	"image/png"
	"net/http"
	"net/smtp"
	"os"
	"os/user"
	"text/tabwriter"
)

func main() {
	u, _ := user.Current()
	fset := token.NewFileSet()
	f, _ := parser.ParseFile(fset, "x.go", "package x", 0)
	conf := types.Config{Importer: importer.Default()}
	_, _ = conf.Check("x", fset, nil, nil)
	_ = f
	fmt.Println(dwarf.TagArrayType, elf.EM_X86_64, gob.NewEncoder(os.Stdout) != nil,
		expvar.NewInt("x"), rpc.DefaultRPCPath)
	fmt.Println(u, http.StatusOK, tls.VersionTLS13, sql.Drivers(), json.Valid(nil), xml.Header,
		template.HTMLEscapeString("<"), png.BestSpeed, smtp.PlainAuth, zip.Deflate, gzip.BestSpeed,
		tabwriter.AlignRight, len(os.Args))
}
"""


def env(extra: dict[str, str]) -> dict[str, str]:
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "GOCACHE", "GOPATH", "GOMODCACHE", "TMPDIR") if k in os.environ}
    return {**keep, "GOTOOLCHAIN": "local", "GOFLAGS": "", **extra}


def build(work: Path) -> list[Path]:
    (work / "go.mod").write_text("module example.com/bench\n\ngo 1.22\n")
    (work / "main.go").write_text(PROGRAM)
    variants = [
        ("pure", {"CGO_ENABLED": "0"}, []),
        ("cgo", {"CGO_ENABLED": "1", "CC": "gcc"}, []),
        ("cgo-pie", {"CGO_ENABLED": "1", "CC": "gcc"}, ["-buildmode=pie"]),
    ]
    out = []
    for name, extra, flags in variants:
        exe = work / name
        subprocess.run(["go", "build", *flags, "-o", str(exe), "."], cwd=work, env=env(extra), check=True, timeout=1800)
        out.append(exe)
    return out


def loop(paths: list[Path]) -> None:
    e = {"PATH": os.environ["PATH"], "LC_ALL": "C"}
    for p in paths:
        subprocess.run(["file", "-b", str(p)], env=e, capture_output=True, check=True, timeout=60)
        subprocess.run(["readelf", "-dVW", str(p)], env=e, capture_output=True, check=True, timeout=60)


def parse(paths: list[Path]) -> None:
    for p in paths:
        f = linkage.read_facts(p)
        assert f.error is None, f.error


def full(paths: list[Path]) -> None:
    for f in linkage.read_many(paths, evidence=True):
        assert f.error is None and f.file


def pyelftools(paths: list[Path]) -> None:
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection, GNUVerSymSection

    for p in paths:
        with open(p, "rb") as fh:
            elf = ELFFile(fh)
            for sec in elf.iter_sections():
                if isinstance(sec, DynamicSection):
                    [t.needed for t in sec.iter_tags() if t.entry.d_tag == "DT_NEEDED"]
                elif isinstance(sec, GNUVerNeedSection):
                    [a.name for _, auxs in sec.iter_versions() for a in auxs]
            dynsym = elf.get_section_by_name(".dynsym")
            versym = next((s for s in elf.iter_sections() if isinstance(s, GNUVerSymSection)), None)
            if dynsym is not None and versym is not None:
                [(s.name, versym.get_symbol(i)["ndx"]) for i, s in enumerate(dynsym.iter_symbols())]


def best(fn, paths: list[Path], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(paths)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gobuildx-bench-audit-") as tmp:
        work = Path(tmp)
        sources = build(work)
        paths = []
        for i in range(args.copies):
            dst = work / f"artifact-{i:02d}"
            shutil.copy(sources[i % len(sources)], dst)
            paths.append(dst)
        mb = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
        print(f"{len(paths)} artifacts, {mb:.1f} MB each on average; best of {args.rounds} rounds")
        loop(paths[:3]), parse(paths[:3])  # warm the page cache and imports
        t_loop = best(loop, paths, args.rounds)
        t_parse = best(parse, paths, args.rounds)
        t_full = best(full, paths, args.rounds)
        t_pyelf = best(pyelftools, paths, 1)
        print(f"  file + readelf -dV loop : {t_loop * 1000:8.1f} ms")
        print(f"  gobuildx parse          : {t_parse * 1000:8.1f} ms   ratio loop/parse = {t_loop / t_parse:6.1f}x")
        print(f"  gobuildx parse+evidence : {t_full * 1000:8.1f} ms   ratio loop/full  = {t_loop / t_full:6.1f}x")
        print(
            f"  pyelftools all symbols  : {t_pyelf * 1000:8.1f} ms   ratio pyelftools/parse = {t_pyelf / t_parse:6.1f}x"
        )
        verdict = "FASTER" if t_parse < t_loop else "SLOWER"
        print(f"target (parse faster than the loop): {verdict}")


if __name__ == "__main__":
    main()
