"""The trust files of a release (docs/trust.md): signatures beside the files they sign and
the provenance. They are written after SHA256SUMS, so SHA256SUMS cannot list them."""

from __future__ import annotations

# method -> the suffix of its signature file: SHA256SUMS.minisig, app_1.0_linux-amd64.tar.gz.asc
SIGNATURE_SUFFIXES = {"minisign": ".minisig", "gpg": ".asc", "cosign": ".sigstore.json"}
PROVENANCE_SUFFIX = ".intoto.jsonl"
# cosign's keyless bundles, written by the generated GitHub workflow (ci/github/release.yml),
# not by gobuildx: their certificate names a workflow identity that only cosign can check.
KEYLESS_SUFFIX = ".keyless.sigstore.json"
TRUST_SUFFIXES = (*SIGNATURE_SUFFIXES.values(), PROVENANCE_SUFFIX, KEYLESS_SUFFIX)

SLSA_PROVENANCE = "https://slsa.dev/provenance/v1"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json"
TEST_RESULT = "https://in-toto.io/attestation/test-result/v0.1"  # a target's smoke runs
LINKAGE = "https://gobuildx.dev/attestation/linkage/v1"  # a target's linkage audit (docs/trust.md)
BUILD_TYPE = "https://gobuildx.dev/slsa/release/v1"  # an identifier, never fetched (docs/trust.md)


def provenance_name(project: str, version: str) -> str:
    return f"{project}_{version}{PROVENANCE_SUFFIX}"


def attestations_name(archive: str) -> str:
    """The smoke and audit attestations of one target, beside its archive."""
    return archive + PROVENANCE_SUFFIX


def is_trust_file(name: str) -> bool:
    return name.endswith(TRUST_SUFFIXES)
