"""What a dynamic ELF needs to start on scratch: its interpreter and library closure from a sysroot.

The linkage comes from the audit's record when present, else from the ELF itself
(PT_INTERP and DT_NEEDED read by gobuildx.formats.elf; nothing is executed). Libraries are
looked up in a sysroot for the target's CPU (Debian's cross libc packages put one at
/usr/<triple>; the host's own is / for its CPU), checked to be ELF files of the same
machine and class, followed recursively, and placed in the image at /lib/<soname>
(a directory every glibc and musl loader searches by default), the interpreter at
its PT_INTERP path.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from gobuildx.formats import FormatError, elf
from gobuildx.model.audit import AuditResult
from gobuildx.project import platforms
from gobuildx.project.matrix import Target

MAX_LIBS = 64


class ClosureError(Exception):
    """The binary cannot be made to start on scratch; the message says why."""


class Linkage(BaseModel):
    model_config = ConfigDict(frozen=True)

    interpreter: str | None
    needed: list[str]
    source: str  # "audit" or "elf"

    @property
    def dynamic(self) -> bool:
        return bool(self.interpreter or self.needed)


class Placed(BaseModel):
    """One file copied from the sysroot into the image."""

    model_config = ConfigDict(frozen=True)

    source: Path
    path: str  # absolute path inside the image


def linkage(artifact: Path, audit: AuditResult | None) -> Linkage:
    """The audit's interpreter/needed when it recorded them, else read from the ELF."""
    if audit is not None:
        return Linkage(interpreter=audit.interpreter, needed=list(audit.needed), source="audit")
    interp, needed, _ = _read(artifact)
    return Linkage(interpreter=interp, needed=needed, source="elf")


def sysroot_for(target: Target, host_arch: str) -> tuple[Path, str]:
    """The sysroot directory for a target's CPU, and the package that provides it."""
    root = platforms.sysroot(target.goarch, target.goarm)
    if root is None:
        raise ClosureError(f"no known sysroot for {target.goarch}: cannot copy a C library into the image")
    if target.goarch == host_arch and (target.goarm or "7") not in ("6", "5"):
        return Path("/"), "libc6"
    return Path(root.path), root.package


def resolve(artifact: Path, link: Linkage, sysroot: Path, package: str) -> list[Placed]:
    """The interpreter and every library the artifact needs, transitively, from `sysroot`."""
    if not sysroot.is_dir():
        raise ClosureError(f"the sysroot {sysroot} is missing: install {package} (apt-get install {package})")
    machine = _machine(artifact)
    placed: dict[str, Placed] = {}
    if link.interpreter:
        found = _find(sysroot, Path(link.interpreter).name, machine, [link.interpreter.lstrip("/")])
        if found is None:
            raise ClosureError(f"interpreter {link.interpreter} not found in {sysroot} (from {package})")
        placed[link.interpreter] = Placed(source=found, path=link.interpreter)
    todo, seen, missing = list(link.needed), set(), []
    while todo:
        name = todo.pop(0)
        if name in seen or _is_interp(name, link.interpreter):
            continue
        seen.add(name)
        found = _find(sysroot, name, machine, [])
        if found is None:
            missing.append(name)
            continue
        placed[f"/lib/{name}"] = Placed(source=found, path=f"/lib/{name}")
        todo += _read(found)[1]
        if len(placed) > MAX_LIBS:
            raise ClosureError(f"more than {MAX_LIBS} libraries needed; refusing to copy a whole system")
    if missing:
        raise ClosureError(f"needed libraries not found in {sysroot} (for {machine[0]}): {', '.join(missing)}")
    return sorted(placed.values(), key=lambda p: p.path)


def _is_interp(name: str, interpreter: str | None) -> bool:
    # musl's loader is its libc: DT_NEEDED libc.so is satisfied by /lib/ld-musl-<arch>.so.1
    return bool(interpreter) and (
        Path(interpreter or "").name == name or ("ld-musl" in (interpreter or "") and name == "libc.so")
    )


def _find(sysroot: Path, name: str, machine: tuple[str, int], exact: list[str]) -> Path | None:
    dirs = [*exact, *[f"{d}/{name}" for d in _lib_dirs()]]
    for rel in dirs:
        candidate = sysroot / rel
        if candidate.exists():
            real = Path(os.path.realpath(candidate))
            if real.is_file() and _machine_or_none(real) == machine:
                return real
    return None


def _lib_dirs() -> list[str]:
    triples = platforms.multiarch_triples()
    return ["lib", "lib64", "usr/lib", "usr/lib64", *[f"lib/{t}" for t in triples], *[f"usr/lib/{t}" for t in triples]]


def _read(path: Path) -> tuple[str | None, list[str], tuple[str, int]]:
    """Interpreter, DT_NEEDED and (machine, class bits) of an ELF file."""
    try:
        info = elf.read_file(path)
    except (FormatError, OSError, ValueError) as exc:
        raise ClosureError(f"{path}: not a readable ELF file ({exc})") from None
    return info.interpreter, list(info.needed), (info.machine, info.bits)


def _machine(path: Path) -> tuple[str, int]:
    return _read(path)[2]


def _machine_or_none(path: Path) -> tuple[str, int] | None:
    try:
        return _machine(path)
    except ClosureError:
        return None
