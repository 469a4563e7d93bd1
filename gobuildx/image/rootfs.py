"""The root file system of one scratch image, as a list of entries, and staging it to disk.

Contents: the artifact at /usr/local/bin/<binary> (the exact bytes built), CA
certificates, zoneinfo, /etc/passwd and /etc/group with one non-root user, an empty
/tmp, the project's extra files, and, for a dynamic target, its loader and libraries.
Both image paths use the same entries: the Docker engine gets them as a build context
(a tar made in memory), the daemonless writer puts them straight into a layer.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from gobuildx.formats.oci import Entry, OciError, normalize
from gobuildx.image.closure import Placed
from gobuildx.project.config import ImageTable

CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
ZONEINFO = Path("/usr/share/zoneinfo")
ZONEINFO_SKIP = {"right", "posix"}  # leap-second and duplicate trees: half the size, never used by Go
BIN_DIR = "usr/local/bin"


class HostFiles(BaseModel):
    """Where the host's CA bundle and zoneinfo come from (Debian: ca-certificates, tzdata)."""

    model_config = ConfigDict(frozen=True)

    ca_bundle: Path = CA_BUNDLE
    zoneinfo: Path = ZONEINFO


def entrypoint(binary: str) -> list[str]:
    return [f"/{BIN_DIR}/{binary}"]


def assemble(
    artifact: Path, binary: str, table: ImageTable, config_root: Path, closure: list[Placed], host: HostFiles
) -> list[Entry]:
    """Every entry of the image; raises OciError naming the first missing input."""
    for need, package in ((host.ca_bundle, "ca-certificates"), (host.zoneinfo, "tzdata")):
        if not need.exists():
            raise OciError(f"{need} is missing: install {package} (apt-get install {package})")
    out = [
        Entry(path=f"{BIN_DIR}/{binary}", mode=0o755, source=artifact),
        Entry(path="etc/ssl/certs/ca-certificates.crt", source=host.ca_bundle),
        Entry(path="tmp", kind="dir", mode=0o1777),
        Entry(path=f"home/{table.user}", kind="dir", mode=0o755, uid=table.uid, gid=table.uid),  # writable HOME
        *_accounts(table),
        *_zoneinfo(host.zoneinfo),
    ]
    for i, extra in enumerate(table.files):
        src = (config_root / extra.src).resolve()
        if not src.is_file():
            raise OciError(f"image.files[{i}].src: {src} is not a file")
        out.append(Entry(path=normalize(extra.dst), mode=int(extra.mode, 8), source=src))
    for lib in closure:
        out.append(Entry(path=normalize(lib.path), mode=0o755, source=lib.source))
    return out


def _accounts(table: ImageTable) -> list[Entry]:
    uid, user = table.uid, table.user
    passwd = f"root:x:0:0:root:/root:/sbin/nologin\n{user}:x:{uid}:{uid}:{user}:/home/{user}:/sbin/nologin\n"
    group = f"root:x:0:\n{user}:x:{uid}:\n"
    return [Entry(path="etc/passwd", data=passwd.encode()), Entry(path="etc/group", data=group.encode())]


def _zoneinfo(root: Path) -> list[Entry]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d not in ZONEINFO_SKIP]
        for name in sorted(dirnames + filenames):
            full = Path(dirpath) / name
            rel = (Path("usr/share/zoneinfo") / rel_dir / name).as_posix()
            if full.is_symlink():
                out.append(Entry(path=rel, kind="symlink", mode=0o777, link=os.readlink(full)))
            elif full.is_dir():
                out.append(Entry(path=rel, kind="dir", mode=0o755))
            else:
                out.append(Entry(path=rel, source=full))
    return out
