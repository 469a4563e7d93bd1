"""`gobuildx verify --key ...`: the signatures and the provenance of a release folder, offline.

Loads nothing of project/ (a downloaded release needs no targets.toml): public keys are
told apart by their text (minisign, PEM, OpenPGP), signatures found by their suffixes.
"""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pydantic import BaseModel, ConfigDict

from gobuildx.model.release import MANIFEST, SUMS, ReleaseManifest
from gobuildx.model.trust import (
    KEYLESS_SUFFIX,
    LINKAGE,
    PROVENANCE_SUFFIX,
    SIGNATURE_SUFFIXES,
    SLSA_PROVENANCE,
    STATEMENT_TYPE,
    TEST_RESULT,
)
from gobuildx.sign import formats, gnupg, provenance
from gobuildx.util.files import sha256_file


class PublicKeys(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    minisign: list[tuple[bytes, ed25519.Ed25519PublicKey]] = []
    pem: list[formats.PublicKey] = []
    gpg: list[bytes] = []  # armored or binary OpenPGP public keys, for a throwaway keyring

    def dsse(self) -> list[formats.PublicKey]:
        return [*self.pem, *(k for _, k in self.minisign)]


class Result(BaseModel):
    problems: list[str] = []
    verified: list[str] = []  # "SHA256SUMS.minisig", ...
    unchecked: list[str] = []  # signatures no given key could check


def read_keys(paths: list[Path]) -> tuple[PublicKeys, list[str]]:
    keys, problems = PublicKeys(), []
    for path in paths:
        try:
            text = path.read_bytes()
        except OSError as exc:
            problems.append(f"{path}: cannot read the public key: {exc.strerror}")
            continue
        if b"-----BEGIN PGP PUBLIC KEY BLOCK-----" in text:
            keys.gpg.append(text)
        elif b"-----BEGIN PUBLIC KEY-----" in text:
            try:
                key = serialization.load_pem_public_key(text)
            except ValueError:
                key = None
            if isinstance(key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
                keys.pem.append(key)
            else:
                problems.append(f"{path}: not an ECDSA or Ed25519 PEM public key")
        elif (mk := formats.read_minisign_public(text)) is not None:
            keys.minisign.append(mk)
        else:
            problems.append(f"{path}: not a minisign, PEM or OpenPGP public key")
    return keys, problems


def check(folder: Path, rm: ReleaseManifest, keys: PublicKeys, require_signatures: bool = False) -> Result:
    res = Result()
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    kinds: set[str] = set()
    for name in names:
        if name.endswith(KEYLESS_SUFFIX):
            res.unchecked.append(f"{name} (keyless: cosign verify-blob --certificate-identity ... checks it)")
            continue
        method = next((m for m, suffix in SIGNATURE_SUFFIXES.items() if name.endswith(suffix)), None)
        if method is not None:
            _check_signature(folder, name, method, keys, res)
        elif name.endswith(PROVENANCE_SUFFIX):
            found, seen = check_attestations(folder, name, rm, keys)
            res.problems += found
            kinds |= seen
    sums_signed = any(v.startswith(SUMS + ".") for v in res.verified)
    if require_signatures and not sums_signed:
        res.problems.append(
            f"{SUMS}: no signature of it verifies with the given keys (--require-signatures)"
            + ("" if any(n.startswith(SUMS + ".") for n in names) else "; the release is unsigned")
        )
    if require_signatures and SLSA_PROVENANCE not in kinds:
        res.problems.append(f"no *{PROVENANCE_SUFFIX} provenance in the release (--require-signatures)")
    return res


def _check_signature(folder: Path, name: str, method: str, keys: PublicKeys, res: Result) -> None:
    signed = name.removesuffix(SIGNATURE_SUFFIXES[method])
    if not (folder / signed).is_file():
        res.problems.append(f"{name}: signs {signed}, which is not in the release")
        return
    data, sig = (folder / signed).read_bytes(), (folder / name).read_bytes()
    why = _problem(method, data, sig, keys, folder / signed, folder / name)
    if why == "":
        res.unchecked.append(name)
    elif why is None:
        res.verified.append(name)
    else:
        res.problems.append(f"{name}: {why}")


def _problem(method: str, data: bytes, sig: bytes, keys: PublicKeys, data_path: Path, sig_path: Path) -> str | None:
    """None: verified; "": no key of this kind was given; else why it does not verify."""
    if method == "minisign":
        if not keys.minisign:
            return ""
        whys = [formats.minisig_problem(k, data, sig) for k in keys.minisign]
    elif method == "cosign":
        ec_keys = [k for k in keys.pem if isinstance(k, ec.EllipticCurvePublicKey)]
        if not ec_keys:
            return ""
        whys = [formats.bundle_problem(k, data, sig) for k in ec_keys]
    else:
        if not keys.gpg:
            return ""
        whys = [gpg_problem(keys.gpg, data_path, sig_path)]
    return None if None in whys else whys[0]


def gpg_problem(public_keys: list[bytes], data: Path, sig: Path) -> str | None:
    program = gnupg.program()
    if program is None:
        return f"cannot check: {gnupg.INSTALL}"
    with gnupg.isolated_home() as home:
        for key in public_keys:
            gnupg.run(program, home, ["--import"], key)
        proc = gnupg.run(program, home, ["--status-fd", "1", "--verify", str(sig), str(data)])
    status = proc.stdout.decode(errors="replace")
    if proc.returncode == 0 and "[GNUPG:] VALIDSIG" in status:
        return None
    if "NO_PUBKEY" in status:
        return "OpenPGP signature by a key that was not given"
    return "OpenPGP signature does not verify"


def check_attestations(folder: Path, name: str, rm: ReleaseManifest, keys: PublicKeys) -> tuple[list[str], set[str]]:
    """Each envelope's signature, then its statement's subjects against the release manifest
    and the files; returns the problems and the predicate types seen."""
    lines = [ln for ln in (folder / name).read_text(errors="replace").splitlines() if ln.strip()]
    if not lines:
        return [f"{name}: empty"], set()
    problems, kinds = [], set()
    for n, line in enumerate(lines, 1):
        where = f"{name} line {n}" if len(lines) > 1 else name
        try:
            env = json.loads(line)
        except ValueError:
            problems.append(f"{where}: not JSON")
            continue
        payload, why = formats.envelope_payload(env, keys.dsse())
        if why:
            problems.append(f"{where}: {why}")
        if payload is not None:
            found, kind = _check_statement(folder, name, where, payload, rm)
            problems += found
            kinds.add(kind)
    return problems, kinds


def _check_statement(folder: Path, name: str, where: str, payload: bytes, rm: ReleaseManifest) -> tuple[list[str], str]:
    try:
        st = json.loads(payload)
        got = {s["name"]: s["digest"]["sha256"] for s in st["subject"]}
        kind = str(st["predicateType"])
    except (ValueError, KeyError, TypeError):
        return [f"{where}: not an in-toto Statement with sha256 subjects"], ""
    if st.get("_type") != STATEMENT_TYPE or kind not in (SLSA_PROVENANCE, TEST_RESULT, LINKAGE):
        return [f"{where}: not a gobuildx attestation (predicateType {kind!r})"], kind
    want = {s["name"]: s["digest"]["sha256"] for s in provenance.subjects(rm)}
    problems = _subject_problems(folder, where, got, want)
    if kind == SLSA_PROVENANCE:
        problems += [f"{where}: does not name {s}" for s in sorted(set(want) - set(got))]
        byproducts = st.get("predicate", {}).get("runDetails", {}).get("byproducts")
        if byproducts != (provenance.rebuilt(rm) if rm.rebuild else None):
            problems.append(f"{where}: its rebuild result (runDetails.byproducts) differs from {MANIFEST}'s rebuild")
        return problems, kind
    # a target's smoke or audit attestation is about the binaries of the archive it is named
    # after, and the packages of that target (which hold the same binaries)
    archive = name.removesuffix(PROVENANCE_SUFFIX)
    packages = {p.name for t in rm.targets if t.archive.name == archive for p in t.packages}
    strays = [s for s in sorted(got) if not s.startswith(archive + "/") and s not in packages]
    problems += [f"{where}: attests {s}, not a binary of {archive}" for s in strays]
    if not got:
        problems.append(f"{where}: names no binary")
    return problems, kind


def _subject_problems(folder: Path, where: str, got: dict[str, str], want: dict[str, str]) -> list[str]:
    problems = []
    for subject, digest in sorted(got.items()):
        if subject not in want:
            problems.append(f"{where}: names {subject}, which the release does not hold")
        elif digest != want[subject]:
            problems.append(
                f"{where}: gives {subject} sha256 {digest[:16]}..., the release has {want[subject][:16]}..."
            )
        elif (folder / subject).is_file() and sha256_file(folder / subject) != digest:
            problems.append(f"{where}: {subject} on disk differs from the digest the provenance names")
    return problems
