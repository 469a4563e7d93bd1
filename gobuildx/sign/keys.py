"""Private keys read from a file or an environment variable, passphrases from the environment.

No message here quotes a key or a passphrase: each names only where it came from (the file
or the variable), so a secret cannot reach a log through an error.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from pydantic import BaseModel, ConfigDict

from gobuildx.errors import ConfigError
from gobuildx.project.config import KeySource
from gobuildx.sign import secretbox


class Secret(BaseModel):
    """A key's text and passphrase; repr and str never show them."""

    model_config = ConfigDict(frozen=True)

    origin: str  # "file keys/minisign.key" or "$MINISIGN_KEY": what a message may name
    text: bytes
    passphrase: bytes | None = None

    def __repr__(self) -> str:
        return f"Secret(origin={self.origin!r})"

    __str__ = __repr__


class MinisignKey(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    key_id: bytes  # 8 bytes, little-endian as minisign stores it
    private: ed25519.Ed25519PrivateKey

    def __repr__(self) -> str:
        return f"MinisignKey(key_id={self.key_id[::-1].hex().upper()})"


COSIGN_PASSWORD = "COSIGN_PASSWORD"


def read_secret(method: str, source: KeySource, root: Path, environ: Mapping[str, str]) -> Secret:
    where = f"sign.{method}"
    if source.key_env is not None:
        text = environ.get(source.key_env, "")
        if not text.strip():
            raise ConfigError([f"{where}.key_env: ${source.key_env} is not set (or empty)"])
        origin, data = f"${source.key_env}", text.encode()
    else:
        assert source.key is not None  # checks.key_source_errors: exactly one source
        try:
            data = (root / source.key).read_bytes()
        except OSError as exc:
            raise ConfigError([f"{where}.key: cannot read {root / source.key}: {exc.strerror}"]) from None
        origin = f"file {source.key}"
    passphrase = None
    if source.passphrase_env is not None:
        if source.passphrase_env not in environ:
            raise ConfigError([f"{where}.passphrase_env: ${source.passphrase_env} is not set"])
        passphrase = environ[source.passphrase_env].encode()
    elif method == "cosign" and COSIGN_PASSWORD in environ:
        passphrase = environ[COSIGN_PASSWORD].encode()  # cosign's own variable, as cosign reads it
    return Secret(origin=origin, text=data, passphrase=passphrase)


COSIGN_PEM_TYPES = (b"ENCRYPTED SIGSTORE PRIVATE KEY", b"ENCRYPTED COSIGN PRIVATE KEY")


def pem_private_key(secret: Secret, where: str) -> ec.EllipticCurvePrivateKey:
    """A PKCS#8 (or SEC1) PEM ECDSA P-256 key, encrypted or not; or the `cosign.key` that
    `cosign generate-key-pair` writes."""
    if any(b"-----BEGIN " + t + b"-----" in secret.text for t in COSIGN_PEM_TYPES):
        return _checked_p256(serialization.load_der_private_key(cosign_key_der(secret, where), None), secret, where)
    # A passphrase only for a PEM that is encrypted: cryptography refuses one for a plain key,
    # and COSIGN_PASSWORD (often exported empty in CI) applies to every cosign key.
    encrypted = b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in secret.text or b"Proc-Type: 4,ENCRYPTED" in secret.text
    try:
        key = serialization.load_pem_private_key(secret.text, password=secret.passphrase if encrypted else None)
    except (ValueError, TypeError):
        raise ConfigError(
            [
                f"{where}: {secret.origin} is not a PEM private key that its passphrase opens "
                "(a wrong or missing passphrase_env, or not PEM)"
            ]
        ) from None
    return _checked_p256(key, secret, where)


def _checked_p256(key: object, secret: Secret, where: str) -> ec.EllipticCurvePrivateKey:
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigError([f"{where}: {secret.origin} is not an ECDSA P-256 key (cosign verifies those)"])
    return key


def cosign_key_der(secret: Secret, where: str) -> bytes:
    """The PKCS#8 DER inside cosign's own key file: PEM around JSON naming the KDF (scrypt,
    with N, r, p and a salt) and the cipher (NaCl secretbox, with a nonce), and the
    ciphertext (go-securesystemslib's `encrypted` package)."""
    bad = ConfigError([f"{where}: {secret.origin} is not a cosign private key (cosign generate-key-pair)"])
    try:
        body = b"".join(ln for ln in secret.text.strip().splitlines()[1:-1] if b":" not in ln)
        doc = json.loads(base64.b64decode(body, validate=True))
        kdf, cipher = doc["kdf"], doc["cipher"]
        n, r, p = int(kdf["params"]["N"]), int(kdf["params"]["r"]), int(kdf["params"]["p"])
        salt, nonce = base64.b64decode(kdf["salt"]), base64.b64decode(cipher["nonce"])
        box = base64.b64decode(doc["ciphertext"])
    except (ValueError, KeyError, TypeError):
        raise bad from None
    if kdf.get("name") != "scrypt" or cipher.get("name") != "nacl/secretbox":
        raise bad
    if (n, r, p) not in ((32768, 8, 1), (65536, 8, 1), (131072, 8, 1)):  # the ones cosign writes
        raise ConfigError([f"{where}: {secret.origin}: scrypt parameters N={n} r={r} p={p} are not cosign's"])
    if secret.passphrase is None:
        raise ConfigError([f"{where}: {secret.origin} is encrypted; set COSIGN_PASSWORD or passphrase_env"])
    key = hashlib.scrypt(secret.passphrase, salt=salt, n=n, r=r, p=p, maxmem=256 * r * n + (1 << 20), dklen=32)
    der = secretbox.open_box(box, nonce, key)
    if der is None:
        raise ConfigError(
            [f"{where}: the passphrase does not open {secret.origin} (wrong COSIGN_PASSWORD or passphrase_env?)"]
        )
    return der


def minisign_private_key(secret: Secret, where: str) -> MinisignKey:
    """A minisign secret key file: base64 of Ed, the KDF (Sc: scrypt, or none), B2, salt,
    opslimit, memlimit, then key id + Ed25519 secret + BLAKE2b checksum XORed with the KDF's
    stream (minisign's own format, so `minisign -G` keys work as they are)."""
    lines = [ln for ln in secret.text.decode(errors="replace").splitlines() if ln.strip()]
    try:
        raw = base64.b64decode(lines[1], validate=True)
    except (IndexError, ValueError):
        raise ConfigError([f"{where}: {secret.origin} is not a minisign secret key"]) from None
    if len(raw) != 158 or raw[:2] != b"Ed" or raw[4:6] != b"B2" or raw[2:4] not in (b"Sc", b"\0\0"):
        raise ConfigError([f"{where}: {secret.origin} is not a minisign secret key"])
    keynum = raw[54:]
    if raw[2:4] == b"Sc":
        if secret.passphrase is None:
            raise ConfigError([f"{where}: {secret.origin} is encrypted; set passphrase_env"])
        stream = _scrypt(
            secret.passphrase,
            raw[6:38],
            int.from_bytes(raw[38:46], "little"),
            int.from_bytes(raw[46:54], "little"),
            len(keynum),
        )
        keynum = bytes(a ^ b for a, b in zip(keynum, stream, strict=True))
    key_id, sk, checksum = keynum[:8], keynum[8:72], keynum[72:]
    if hashlib.blake2b(raw[:2] + key_id + sk, digest_size=32).digest() != checksum:
        raise ConfigError([f"{where}: the passphrase does not open {secret.origin} (wrong passphrase_env?)"])
    return MinisignKey(key_id=key_id, private=ed25519.Ed25519PrivateKey.from_private_bytes(sk[:32]))


def _scrypt(password: bytes, salt: bytes, opslimit: int, memlimit: int, size: int) -> bytes:
    """libsodium's crypto_pwhash_scryptsalsa208sha256 (its pickparams, then scrypt)."""
    opslimit, r = max(opslimit, 32768), 8
    if opslimit < memlimit // 32:
        p, max_n = 1, opslimit // (r * 4)
        n_log2 = _log2_below(max_n)
    else:
        n_log2 = _log2_below(memlimit // (r * 128))
        p = min((opslimit // 4) // (1 << n_log2), 0x3FFFFFFF) // r
    n = 1 << n_log2
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=128 * r * (n + p + 2) + (1 << 20), dklen=size)


def _log2_below(max_n: int) -> int:
    n_log2 = 1
    while n_log2 < 63 and (1 << n_log2) <= max_n // 2:
        n_log2 += 1
    return n_log2
