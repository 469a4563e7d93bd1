"""The manifests attached to a pushed image (formats/ocirefs.py): cosign's signature form and
OCI 1.1 referrers with the tag-schema fallback index. Byte-level facts only; cosign, oras and
skopeo read them from a real registry in tests/integration/release/test_image_trust.py."""

from __future__ import annotations

import json

from gobuildx.formats import ocirefs
from gobuildx.formats.oci import MT_MANIFEST, Blob

SUBJECT = Blob(media_type=MT_MANIFEST, data=b'{"schemaVersion":2}')


def test_the_tags_are_cosigns_and_the_referrers_tag_schemas() -> None:
    assert ocirefs.signature_tag("sha256:ab12") == "sha256-ab12.sig"
    assert ocirefs.fallback_tag("sha256:ab12") == "sha256-ab12"


def test_the_signature_manifest_carries_the_payload_and_the_signature() -> None:
    payload = ocirefs.simple_signing("127.0.0.1:5000/app", SUBJECT.digest)
    claim = json.loads(payload)
    assert claim["critical"]["image"]["docker-manifest-digest"] == SUBJECT.digest
    assert claim["critical"]["type"] == "cosign container image signature"
    art = ocirefs.signature_manifest(payload, "c2ln")
    body = json.loads(art.manifest.data)
    (layer,) = body["layers"]
    assert (
        layer["mediaType"] == ocirefs.MT_SIMPLE_SIGNING and layer["digest"] == Blob(media_type="x", data=payload).digest
    )
    assert layer["annotations"] == {ocirefs.SIGNATURE_ANNOTATION: "c2ln"}
    assert {b.digest for b in art.blobs} == {body["config"]["digest"], layer["digest"]}


def test_a_signature_is_added_to_what_the_tag_held_and_only_once() -> None:
    """Another signer's layer at the `.sig` tag (CI's keyless cosign, say) stays, as cosign
    itself appends; pushing the same signature again changes nothing."""
    payload = ocirefs.simple_signing("127.0.0.1:5000/app", SUBJECT.digest)
    theirs = ocirefs.signature_manifest(payload, "dGhlaXJz").manifest.data
    art = ocirefs.signature_manifest(payload, "b3Vycw==", theirs)
    body = json.loads(art.manifest.data)
    assert [d["annotations"][ocirefs.SIGNATURE_ANNOTATION] for d in body["layers"]] == ["dGhlaXJz", "b3Vycw=="]
    config = json.loads(next(b for b in art.blobs if b.digest == body["config"]["digest"]).data)
    assert config["rootfs"]["diff_ids"] == [d["digest"] for d in body["layers"]]
    again = ocirefs.signature_manifest(payload, "b3Vycw==", art.manifest.data)
    assert again.manifest.data == art.manifest.data
    assert ocirefs.signature_manifest(payload, "b3Vycw==", b"not json").manifest.data == (
        ocirefs.signature_manifest(payload, "b3Vycw==").manifest.data
    )


def test_a_referrer_names_its_subject_and_artifact_type() -> None:
    content = Blob(media_type=ocirefs.MT_SPDX, data=b"{}\n")
    art = ocirefs.referrer(SUBJECT, ocirefs.MT_SPDX, content, "a.spdx.json", "2023-11-14T22:13:20Z")
    body = json.loads(art.manifest.data)
    assert body["artifactType"] == ocirefs.MT_SPDX and body["subject"]["digest"] == SUBJECT.digest
    assert body["config"] == ocirefs.EMPTY.descriptor() and ocirefs.EMPTY.data == b"{}"
    assert body["layers"][0]["annotations"][ocirefs.TITLE] == "a.spdx.json"
    assert art.subject == SUBJECT.digest


def test_the_fallback_index_keeps_what_was_listed_and_adds_each_referrer_once() -> None:
    content = Blob(media_type=ocirefs.MT_SPDX, data=b"{}\n")
    art = ocirefs.referrer(SUBJECT, ocirefs.MT_SPDX, content, "a.spdx.json", "2023-11-14T22:13:20Z")
    other = {"mediaType": MT_MANIFEST, "digest": "sha256:" + "0" * 64, "size": 1, "artifactType": "x/y"}
    existing = json.dumps({"schemaVersion": 2, "manifests": [other]}).encode()
    first = ocirefs.fallback_index(existing, [art])
    assert [m["digest"] for m in json.loads(first.data)["manifests"]] == [other["digest"], art.manifest.digest]
    assert ocirefs.fallback_index(first.data, [art]) == first  # pushed again: the same bytes
    assert json.loads(ocirefs.fallback_index(None, [art]).data)["manifests"][0]["artifactType"] == ocirefs.MT_SPDX
    assert json.loads(ocirefs.fallback_index(b"not json", [art]).data)["manifests"][0]["digest"] == art.manifest.digest


def test_the_bundle_referrer_is_a_dsse_statement_about_the_subject() -> None:
    import base64

    from cryptography.hazmat.primitives.asymmetric import ec

    from gobuildx.sign import formats

    key = ec.generate_private_key(ec.SECP256R1())
    signer = ocirefs.Signer(sign=lambda data: formats.sign_raw(key, data), hint="aGludA==")
    art = ocirefs.bundle_referrer(SUBJECT, signer, "2023-11-14T22:13:20Z")
    body = json.loads(art.manifest.data)
    assert body["artifactType"] == ocirefs.MT_SIGSTORE_BUNDLE and body["subject"]["digest"] == SUBJECT.digest
    bundle = json.loads(art.blobs[1].data)
    env = bundle["dsseEnvelope"]
    payload = base64.b64decode(env["payload"])
    statement = json.loads(payload)
    assert statement["subject"][0]["digest"]["sha256"] == SUBJECT.digest.partition(":")[2]
    assert statement["predicateType"] == ocirefs.COSIGN_SIGN_PREDICATE
    sig = base64.b64decode(env["signatures"][0]["sig"])
    assert formats.verify_raw(key.public_key(), sig, formats.pae(env["payloadType"], payload))
    assert ocirefs.bundle_referrer(SUBJECT, signer, "2023-11-14T22:13:20Z") == art  # RFC 6979: the same bytes
