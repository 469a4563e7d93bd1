"""NaCl's secretbox (XSalsa20-Poly1305) opening, in Python: what `cosign generate-key-pair`
seals its private key with. pyca/cryptography has Poly1305 but no (X)Salsa20; the keys are a
few hundred bytes, so a plain implementation costs microseconds."""

from __future__ import annotations

import hmac
import struct

from cryptography.hazmat.primitives.poly1305 import Poly1305

KEY_SIZE, NONCE_SIZE, TAG_SIZE = 32, 24, 16
_SIGMA = struct.unpack("<4I", b"expand 32-byte k")
_MASK = 0xFFFFFFFF


def _rounds(state: list[int]) -> list[int]:
    x = list(state)

    def qr(a: int, b: int, c: int, d: int) -> None:
        x[b] ^= ((x[a] + x[d]) & _MASK) << 7 & _MASK | ((x[a] + x[d]) & _MASK) >> 25
        x[c] ^= ((x[b] + x[a]) & _MASK) << 9 & _MASK | ((x[b] + x[a]) & _MASK) >> 23
        x[d] ^= ((x[c] + x[b]) & _MASK) << 13 & _MASK | ((x[c] + x[b]) & _MASK) >> 19
        x[a] ^= ((x[d] + x[c]) & _MASK) << 18 & _MASK | ((x[d] + x[c]) & _MASK) >> 14

    for _ in range(10):
        qr(0, 4, 8, 12), qr(5, 9, 13, 1), qr(10, 14, 2, 6), qr(15, 3, 7, 11)
        qr(0, 1, 2, 3), qr(5, 6, 7, 4), qr(10, 11, 8, 9), qr(15, 12, 13, 14)
    return x


def _state(key: bytes, sixteen: bytes) -> list[int]:
    k, n = struct.unpack("<8I", key), struct.unpack("<4I", sixteen)
    return [_SIGMA[0], *k[:4], _SIGMA[1], *n, _SIGMA[2], *k[4:], _SIGMA[3]]


def _hsalsa20(key: bytes, nonce16: bytes) -> bytes:
    x = _rounds(_state(key, nonce16))
    return struct.pack("<8I", *(x[i] for i in (0, 5, 10, 15, 6, 7, 8, 9)))


def _salsa20_stream(key: bytes, nonce8: bytes, size: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        state = _state(key, nonce8 + struct.pack("<Q", counter))
        out += struct.pack("<16I", *((a + b) & _MASK for a, b in zip(_rounds(state), state, strict=True)))
        counter += 1
    return bytes(out[:size])


def open_box(box: bytes, nonce: bytes, key: bytes) -> bytes | None:
    """The plaintext of NaCl crypto_secretbox (tag || ciphertext), or None when the tag does
    not match (a wrong key: for a passphrase-derived key, a wrong passphrase)."""
    if len(key) != KEY_SIZE or len(nonce) != NONCE_SIZE or len(box) < TAG_SIZE:
        return None
    subkey = _hsalsa20(key, nonce[:16])
    stream = _salsa20_stream(subkey, nonce[16:], 32 + len(box) - TAG_SIZE)
    tag, ciphertext = box[:TAG_SIZE], box[TAG_SIZE:]
    mac = Poly1305(stream[:32])
    mac.update(ciphertext)
    if not hmac.compare_digest(mac.finalize(), tag):
        return None
    return bytes(a ^ b for a, b in zip(ciphertext, stream[32:], strict=True))
