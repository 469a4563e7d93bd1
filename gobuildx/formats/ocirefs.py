"""What is attached to a pushed image: cosign's signature manifests and OCI 1.1 referrers.

Pure functions over bytes, like oci.py; the image stage pushes what they return.

* A cosign signature (the form `cosign verify --key` reads when no Sigstore bundle is
  attached): a "simple signing" payload naming the image digest, signed, stored as the one
  layer of a manifest tagged `sha256-<hex>.sig` in the image's repository, the signature in
  the layer's `dev.cosignproject.cosign/signature` annotation.
* A referrer (OCI image spec 1.1): an artifact manifest with `artifactType` and `subject`
  (the image it describes), one layer holding the file; on a registry without the referrers
  API it is also listed in the index at the fallback tag `sha256-<hex>` (distribution spec
  1.1, "referrers tag schema").
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from gobuildx.formats.dsse import pae
from gobuildx.formats.oci import MT_CONFIG, MT_INDEX, MT_MANIFEST, Blob, canonical_json

MT_SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
MT_EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY = Blob(media_type=MT_EMPTY, data=b"{}")
TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"


MT_SPDX = "application/spdx+json"
MT_CYCLONEDX = "application/vnd.cyclonedx+json"
MT_IN_TOTO = "application/vnd.in-toto+json"  # the artifactType of an attestation referrer
MT_DSSE_LINES = "application/vnd.in-toto+jsonl"  # its layer: gobuildx's .intoto.jsonl file as it is


MT_SIGSTORE_BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
COSIGN_SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1"
IN_TOTO_STATEMENT = "https://in-toto.io/Statement/v1"
IN_TOTO_PAYLOAD = "application/vnd.in-toto+json"


@dataclass(frozen=True)
class Signer:
    """What the image stage signs with, without holding the key: `sign` returns the ECDSA
    signature (DER) of its bytes; `hint` names the public key in a Sigstore bundle."""

    sign: Callable[[bytes], bytes]
    hint: str


@dataclass(frozen=True)
class Signature:
    """One cosign signature to push: its tag, the simple-signing payload and the base64
    signature. The manifest is made at push time, over what the tag already holds."""

    tag: str
    payload: bytes
    signature_b64: str


class Attachment(BaseModel):
    """A file to attach to a pushed image as a referrer (what sign/ hands the image stage)."""

    model_config = ConfigDict(frozen=True)

    target: str | None  # whose platform image it describes; None: the multi-arch index
    artifact_type: str
    media_type: str
    name: str
    data: bytes


class Artifact(BaseModel):
    """A manifest and the blobs it names (pushed blobs first, then the manifest)."""

    model_config = ConfigDict(frozen=True)

    manifest: Blob
    blobs: list[Blob]
    artifact_type: str = ""
    subject: str = ""  # a referrer's subject digest


def _hex(digest: str) -> str:
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}-{value}"


def signature_tag(digest: str) -> str:
    """cosign's tag for the signatures of the manifest `digest` (sha256:abc -> sha256-abc.sig)."""
    return _hex(digest) + ".sig"


def fallback_tag(digest: str) -> str:
    """The referrers tag schema's tag for the referrers of `digest` (sha256:abc -> sha256-abc)."""
    return _hex(digest)


def simple_signing(reference: str, digest: str) -> bytes:
    """The payload cosign signs for an image: its repository and manifest digest (no optional
    claims, no timestamp, so the same image gives the same payload)."""
    body = {
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def signature_manifest(payload: bytes, signature_b64: str, existing: bytes | None = None) -> Artifact:
    """The manifest at signature_tag(): the payload as a layer, the base64 signature in the
    layer's annotation (as `cosign sign --key --tlog-upload=false` writes it), after the layers
    the tag held already (`existing`: another signer's, which cosign too keeps by appending).
    The same signature pushed twice gives the same bytes."""
    layer = Blob(media_type=MT_SIMPLE_SIGNING, data=payload)
    ours = layer.descriptor(annotations={SIGNATURE_ANNOTATION: signature_b64})
    layers = [d for d in _signature_layers(existing) if d != ours] + [ours]
    config = Blob(
        media_type=MT_CONFIG,
        data=canonical_json(
            {
                "architecture": "",
                "config": {},
                "created": "0001-01-01T00:00:00Z",
                "history": [{"created": "0001-01-01T00:00:00Z"}],
                "os": "",
                "rootfs": {"type": "layers", "diff_ids": [d["digest"] for d in layers]},
            }
        ),
    )
    body = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": config.descriptor(), "layers": layers}
    return Artifact(manifest=Blob(media_type=MT_MANIFEST, data=canonical_json(body)), blobs=[config, layer])


def _signature_layers(existing: bytes | None) -> list[dict[str, Any]]:
    """The layer descriptors of a signature manifest already at the tag (none if unreadable)."""
    if not existing:
        return []
    try:
        layers = json.loads(existing).get("layers", [])
    except (ValueError, AttributeError):
        return []
    return [d for d in layers if isinstance(d, dict) and "digest" in d]


def bundle_referrer(subject: Blob, signer: Signer, created: str) -> Artifact:
    """The form `cosign sign --key` writes by default since v3: a referrer of `subject` whose
    one layer is a Sigstore bundle holding a DSSE envelope of an in-toto Statement (predicate
    type cosign/sign/v1, subject = the manifest digest), no transparency-log entry."""
    statement = {
        "_type": IN_TOTO_STATEMENT,
        "subject": [{"digest": {"sha256": subject.digest.partition(":")[2]}, "annotations": {}}],
        "predicateType": COSIGN_SIGN_PREDICATE,
        "predicate": {},
    }
    payload = json.dumps(statement, separators=(",", ":")).encode()
    sig = signer.sign(pae(IN_TOTO_PAYLOAD, payload))
    bundle = {
        "mediaType": MT_SIGSTORE_BUNDLE,
        "verificationMaterial": {"publicKey": {"hint": signer.hint}},
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": IN_TOTO_PAYLOAD,
            "signatures": [{"sig": base64.b64encode(sig).decode()}],
        },
    }
    layer = Blob(media_type=MT_SIGSTORE_BUNDLE, data=canonical_json(bundle))
    body = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "artifactType": MT_SIGSTORE_BUNDLE,
        "config": EMPTY.descriptor(artifactType=MT_SIGSTORE_BUNDLE),  # as cosign writes it
        "layers": [layer.descriptor()],
        "subject": subject.descriptor(),
        "annotations": {
            "dev.sigstore.bundle.content": "dsse-envelope",
            "dev.sigstore.bundle.predicateType": COSIGN_SIGN_PREDICATE,
            CREATED: created,
        },
    }
    return Artifact(
        manifest=Blob(media_type=MT_MANIFEST, data=canonical_json(body)),
        blobs=[EMPTY, layer],
        artifact_type=MT_SIGSTORE_BUNDLE,
        subject=subject.digest,
    )


def referrer(subject: Blob, artifact_type: str, content: Blob, name: str, created: str) -> Artifact:
    """An OCI 1.1 artifact manifest: `content` (titled `name`) describing `subject`."""
    body = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "artifactType": artifact_type,
        "config": EMPTY.descriptor(),
        "layers": [content.descriptor(annotations={TITLE: name})],
        "subject": subject.descriptor(),
        "annotations": {CREATED: created, TITLE: name},
    }
    return Artifact(
        manifest=Blob(media_type=MT_MANIFEST, data=canonical_json(body)),
        blobs=[EMPTY, content],
        artifact_type=artifact_type,
        subject=subject.digest,
    )


def referrer_descriptor(a: Artifact) -> dict[str, Any]:
    """How a referrers list names a referrer: its descriptor plus artifactType and annotations."""
    body = json.loads(a.manifest.data)
    return a.manifest.descriptor(artifactType=a.artifact_type, annotations=body.get("annotations", {}))


def fallback_index(existing: bytes | None, added: Sequence[Artifact]) -> Blob:
    """The index at fallback_tag(): what it listed already (another tool's referrers too),
    then each of `added` not listed yet. The same pushes twice give the same bytes."""
    manifests: list[dict[str, Any]] = []
    if existing:
        try:
            found = json.loads(existing).get("manifests", [])
        except (ValueError, AttributeError):
            found = []
        manifests = [m for m in found if isinstance(m, dict) and "digest" in m]
    listed = {m["digest"] for m in manifests}
    manifests += [referrer_descriptor(a) for a in added if a.manifest.digest not in listed]
    return Blob(
        media_type=MT_INDEX, data=canonical_json({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests})
    )
