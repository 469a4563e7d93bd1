"""An SBOM per binary (SPDX 2.3 JSON or CycloneDX 1.5 JSON) from the module list Go embeds.

The module list is read from the binary itself by gobuildx.formats.buildinfo (the reader the
audit uses; it reads any GOOS/GOARCH and needs no Go). wasm binaries carry no Go build info
(golang/go#73741): their SBOM names the binary and says so in a comment instead of guessing.
Output is deterministic: the date is the build date, identifiers derive from the binary's
digest, keys are sorted.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gobuildx import __version__
from gobuildx.errors import ReleaseRefused
from gobuildx.formats import FormatError, buildinfo
from gobuildx.model.audit import GoBuildInfo

SbomFormat = Literal["spdx", "cyclonedx"]
NAMESPACE = "https://gobuildx.invalid/spdx"
UUID_NAMESPACE = uuid.UUID("6f1c7a38-3f0e-4d55-9a43-7d9b0c2a4e11")
NO_BUILDINFO = (
    "{name} has no Go build info (a wasm binary does not embed one, golang/go#73741); "
    "its modules are not listed rather than guessed"
)


class Module(BaseModel):
    """One module of `go version -m -json` (debug.Module)."""

    model_config = ConfigDict(populate_by_name=True)

    path: str = Field(alias="Path")
    version: str = Field("", alias="Version")
    sum: str = Field("", alias="Sum")
    replace: Module | None = Field(None, alias="Replace")

    @property
    def local(self) -> bool:
        """A replacement by a directory (`=> ./lib`): it has no module identity of its own."""
        return self.path.startswith((".", "/"))

    def effective(self) -> Module:
        """The module actually compiled in: the replacement, unless that is a local directory."""
        return self.replace if self.replace and not self.replace.local else self

    def replace_note(self) -> str | None:
        if not self.replace:
            return None
        if self.replace.local:
            return f"replaced by the local directory {self.replace.path}"
        return f"replaces {self.path} {self.version}".strip()


class Setting(BaseModel):
    key: str = Field(alias="Key")
    value: str = Field(alias="Value")


class BuildInfo(BaseModel):
    """The build info embedded in a Go binary (debug.BuildInfo)."""

    go_version: str = Field(alias="GoVersion")
    path: str = Field("", alias="Path")
    main: Module = Field(Module(Path=""), alias="Main")
    deps: list[Module] = Field([], alias="Deps")
    settings: list[Setting] = Field([], alias="Settings")


class Subject(BaseModel):
    """The binary an SBOM describes."""

    project: str
    version: str
    date: str
    target: str
    binary: str
    path: str  # inside the release archive
    sha256: str


def read_buildinfo(binary: Path) -> BuildInfo | None:
    """The binary's build info, read from its bytes by gobuildx.formats.buildinfo (any GOOS/GOARCH,
    no Go needed), or None when it holds none (wasm: golang/go#73741). A file that cannot be
    read refuses the release: an SBOM without its modules would be a placeholder."""
    try:
        found = buildinfo.read_file(binary)
    except (FormatError, OSError, ValueError) as exc:
        raise ReleaseRefused(f"cannot read the build info of {binary} for its SBOM: {exc}") from None
    return None if found is None else of_go(found)


def of_go(info: GoBuildInfo) -> BuildInfo:
    """The module list as `go version -m -json` gives it (debug.BuildInfo), from the embedded text."""
    main = _module(info.main) if info.main else Module(Path="")
    return BuildInfo(
        GoVersion=info.go_version,
        Path=info.path or "",
        Main=main,
        Deps=[_module(dep) for dep in info.deps],
        Settings=[Setting(Key=k, Value=v) for k, v in info.settings.items()],
    )


def _module(text: str) -> Module:
    """`path@version`, or `path@version => replacement[@version]` (formats.buildinfo's spelling)."""
    original, _, replacement = text.partition(" => ")
    path, _, version = original.partition("@")  # a module path holds no '@'
    if not replacement:
        return Module(Path=path, Version=version)
    r_path, _, r_version = replacement.partition("@")
    return Module(Path=path, Version=version, Replace=Module(Path=r_path, Version=r_version))


def render(fmt: SbomFormat, subject: Subject, info: BuildInfo | None) -> bytes:
    doc = spdx(subject, info) if fmt == "spdx" else cyclonedx(subject, info)
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def file_name(fmt: SbomFormat, archive_stem: str, binary: str) -> str:
    return f"{archive_stem}.{binary}.{'spdx' if fmt == 'spdx' else 'cdx'}.json"


def purl(module: Module) -> str:
    mod = module.effective()
    version = "" if mod.version in ("", "(devel)") else f"@{mod.version}"
    return f"pkg:golang/{mod.path}{version}"


def _spdx_id(kind: str, index: int, name: str) -> str:
    return f"SPDXRef-{kind}-{index}-" + re.sub(r"[^A-Za-z0-9.-]", "-", name)


def _spdx_package(spdx_id: str, module: Module, comment: str | None = None) -> dict[str, object]:
    mod = module.effective()
    pkg: dict[str, object] = {
        "SPDXID": spdx_id,
        "name": mod.path,
        "versionInfo": mod.version or "NOASSERTION",
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "primaryPackagePurpose": "LIBRARY",
        "externalRefs": [
            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl(module)}
        ],
    }
    note = module.replace_note()
    if note:
        comment = (comment + "; " if comment else "") + note
    if comment:
        pkg["comment"] = comment
    return pkg


def spdx(subject: Subject, info: BuildInfo | None) -> dict[str, object]:
    binary_pkg: dict[str, object] = {
        "SPDXID": "SPDXRef-Binary",
        "name": subject.binary,
        "versionInfo": subject.version,
        "packageFileName": subject.path,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "primaryPackagePurpose": "APPLICATION",
        "checksums": [{"algorithm": "SHA256", "checksumValue": subject.sha256}],
    }
    packages = [binary_pkg]
    relations = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-Binary"}
    ]
    comment = f"gobuildx release of {subject.project} {subject.version} for {subject.target}"
    if info is None:
        comment += "; " + NO_BUILDINFO.format(name=subject.path)
    else:
        modules = [("Main", info.main, "main module")] if info.main.path else []
        modules.append(("Go", Module(Path="stdlib", Version=info.go_version), "Go standard library"))
        modules += [("Module", dep, None) for dep in info.deps]
        for i, (kind, mod, note) in enumerate(modules):
            sid = _spdx_id(kind, i, mod.path)
            packages.append(_spdx_package(sid, mod, note))
            rel = "CONTAINS" if kind == "Main" else "DEPENDS_ON"
            relations.append({"spdxElementId": "SPDXRef-Binary", "relationshipType": rel, "relatedSpdxElement": sid})
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{subject.project}-{subject.version}-{subject.target}-{subject.binary}",
        "documentNamespace": f"{NAMESPACE}/{subject.project}/{subject.version}/{subject.target}/"
        f"{subject.binary}-{subject.sha256}",
        "comment": comment,
        "creationInfo": {"created": subject.date, "creators": [f"Tool: gobuildx-{__version__}"]},
        "packages": packages,
        "relationships": relations,
    }


def cyclonedx(subject: Subject, info: BuildInfo | None) -> dict[str, object]:
    component = {
        "type": "application",
        "bom-ref": "binary",
        "name": subject.binary,
        "version": subject.version,
        "hashes": [{"alg": "SHA-256", "content": subject.sha256}],
    }
    props = [{"name": "gobuildx:target", "value": subject.target}, {"name": "gobuildx:path", "value": subject.path}]
    components: list[dict[str, object]] = []
    if info is None:
        props.append({"name": "gobuildx:note", "value": NO_BUILDINFO.format(name=subject.path)})
    else:
        mods = ([info.main] if info.main.path else []) + [Module(Path="stdlib", Version=info.go_version)]
        for mod in mods + info.deps:
            eff = mod.effective()
            components.append(
                {"type": "library", "bom-ref": purl(mod), "name": eff.path, "version": eff.version, "purl": purl(mod)}
            )
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "serialNumber": f"urn:uuid:{uuid.uuid5(UUID_NAMESPACE, subject.sha256 + subject.path)}",
        "metadata": {
            "timestamp": subject.date,
            "component": component,
            "properties": props,
            "tools": {"components": [{"type": "application", "name": "gobuildx", "version": __version__}]},
        },
        "components": components,
        "dependencies": [{"ref": "binary", "dependsOn": [c["bom-ref"] for c in components]}],
    }


def described_digest(doc: bytes) -> str | None:
    """The SHA-256 of the binary an SBOM (either format) says it describes."""
    try:
        data = json.loads(doc)
        if data.get("spdxVersion"):
            pkg = next(p for p in data["packages"] if p["SPDXID"] == "SPDXRef-Binary")
            return next(c["checksumValue"] for c in pkg["checksums"] if c["algorithm"] == "SHA256")
        hashes = data["metadata"]["component"]["hashes"]
        return next(h["content"] for h in hashes if h["alg"] == "SHA-256")
    except (ValueError, KeyError, StopIteration, TypeError, AttributeError):
        return None
