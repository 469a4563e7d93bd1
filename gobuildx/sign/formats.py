"""The signature formats, written and read: minisign, the Sigstore bundle (key-based), DSSE.

Pure functions over bytes and pyca/cryptography keys; no project, no files, no programs.
sign/verify.py reads the same formats, so a release is checked without a targets.toml.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from gobuildx.formats.dsse import pae as pae  # DSSE's pre-authentication encoding: what is signed
from gobuildx.model.trust import DSSE_PAYLOAD_TYPE

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
# deterministic_signing: RFC 6979 nonces, so the same key and file give the same bytes
ECDSA = ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def spki(key: PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_hint(key: PublicKey) -> str:
    """The public-key hint of a key-based Sigstore bundle: base64 of the DER key's sha256."""
    return b64(hashlib.sha256(spki(key)).digest())


def key_id(key: PublicKey) -> str:
    """The keyid a DSSE signature carries: sha256 of the public key's DER (SubjectPublicKeyInfo)."""
    return hashlib.sha256(spki(key)).hexdigest()


# minisign ---------------------------------------------------------------------------------


def minisig(private: ed25519.Ed25519PrivateKey, mkey_id: bytes, data: bytes, trusted_comment: str) -> bytes:
    """A prehashed (ED) minisign signature, as `minisign -S` writes it."""
    sig = private.sign(hashlib.blake2b(data, digest_size=64).digest())
    global_sig = private.sign(sig + trusted_comment.encode())
    return (
        "untrusted comment: signature from gobuildx (minisign format)\n"
        f"{b64(b'ED' + mkey_id + sig)}\n"
        f"trusted comment: {trusted_comment}\n"
        f"{b64(global_sig)}\n"
    ).encode()


def read_minisign_public(text: bytes) -> tuple[bytes, ed25519.Ed25519PublicKey] | None:
    lines = [ln for ln in text.decode(errors="replace").splitlines() if ln.strip()]
    try:
        raw = base64.b64decode(lines[1], validate=True)
    except (IndexError, ValueError):
        return None
    if len(raw) != 42 or raw[:2] != b"Ed" or not lines[0].startswith("untrusted comment:"):
        return None
    return raw[2:10], ed25519.Ed25519PublicKey.from_public_bytes(raw[10:])


def minisig_problem(public: tuple[bytes, ed25519.Ed25519PublicKey], data: bytes, signature: bytes) -> str | None:
    """None when the signature verifies; else why not (one short phrase)."""
    lines = signature.decode(errors="replace").splitlines()
    try:
        sig_raw, global_sig = base64.b64decode(lines[1], validate=True), base64.b64decode(lines[3], validate=True)
        trusted = lines[2].removeprefix("trusted comment: ")
    except (IndexError, ValueError):
        return "not a minisign signature"
    if len(sig_raw) != 74 or sig_raw[:2] not in (b"ED", b"Ed"):
        return "not a minisign signature"
    if sig_raw[2:10] != public[0]:
        return "signed by another minisign key"
    message = hashlib.blake2b(data, digest_size=64).digest() if sig_raw[:2] == b"ED" else data
    try:
        public[1].verify(sig_raw[10:], message)
        public[1].verify(global_sig, sig_raw[10:] + trusted.encode())
    except InvalidSignature:
        return "minisign signature does not match"
    return None


# Sigstore bundle, key-based -----------------------------------------------------------------


def bundle(private: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """A Sigstore bundle v0.3 with a message signature and a public-key hint, no transparency
    log entry: `cosign verify-blob --key KEY.pub --bundle B --insecure-ignore-tlog` accepts it."""
    doc = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": key_hint(private.public_key())}},
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": b64(hashlib.sha256(data).digest())},
            "signature": b64(private.sign(data, ECDSA)),
        },
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def bundle_problem(public: ec.EllipticCurvePublicKey, data: bytes, doc: bytes) -> str | None:
    try:
        parsed = json.loads(doc)
        sig = base64.b64decode(parsed["messageSignature"]["signature"], validate=True)
        digest = base64.b64decode(parsed["messageSignature"]["messageDigest"]["digest"], validate=True)
    except (ValueError, KeyError, TypeError):
        return "not a Sigstore bundle with a message signature"
    if digest != hashlib.sha256(data).digest():
        return "the bundle signs another file (its messageDigest differs)"
    try:
        public.verify(sig, data, ECDSA)
    except InvalidSignature:
        return "Sigstore bundle signature does not match"
    return None


# DSSE ---------------------------------------------------------------------------------------


def sign_raw(private: PrivateKey, message: bytes) -> bytes:
    return private.sign(message, ECDSA) if isinstance(private, ec.EllipticCurvePrivateKey) else private.sign(message)


def verify_raw(public: PublicKey, sig: bytes, message: bytes) -> bool:
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(sig, message, ECDSA)
        else:
            public.verify(sig, message)
    except InvalidSignature:
        return False
    return True


def envelope(private: PrivateKey, payload: bytes) -> dict[str, Any]:
    sig = sign_raw(private, pae(DSSE_PAYLOAD_TYPE, payload))
    return {
        "payloadType": DSSE_PAYLOAD_TYPE,
        "payload": b64(payload),
        "signatures": [{"keyid": key_id(private.public_key()), "sig": b64(sig)}],
    }


def envelope_payload(env: dict[str, Any], keys: list[PublicKey]) -> tuple[bytes | None, str | None]:
    """(payload, None) when a signature verifies with one of keys; (payload or None, why) if not."""
    try:
        payload = base64.b64decode(env["payload"], validate=True)
        sigs = [(s.get("keyid", ""), base64.b64decode(s["sig"], validate=True)) for s in env["signatures"]]
        message = pae(env["payloadType"], payload)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, "not a DSSE envelope"
    if env["payloadType"] != DSSE_PAYLOAD_TYPE:
        return payload, f"payloadType is {env['payloadType']!r}, not {DSSE_PAYLOAD_TYPE}"
    if not keys:
        return payload, None
    for kid, sig in sigs:
        for k in keys:
            if kid in ("", key_id(k)) and verify_raw(k, sig, message):
                return payload, None
    return payload, "no DSSE signature verifies with the given keys"
