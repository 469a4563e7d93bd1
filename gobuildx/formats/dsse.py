"""DSSE's pre-authentication encoding, the bytes a DSSE signature signs: shared by the release's
envelopes (sign/formats.py) and the image signature bundles (formats/ocirefs.py)."""

from __future__ import annotations


def pae(payload_type: str, payload: bytes) -> bytes:
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)
