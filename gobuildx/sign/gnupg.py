"""The gpg program in a throwaway GNUPGHOME, for signing and verifying alike: the user's
keyring is never read or changed, and the home (with any imported secret key) is deleted."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TIMEOUT_S = 60
INSTALL = "the gpg program is not installed (Debian: apt-get install gnupg)"


def program() -> str | None:
    return shutil.which("gpg")


@contextmanager
def isolated_home() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="gobuildx-gpg-"))
    home.chmod(0o700)
    try:
        yield home
    finally:
        # gpg starts an agent per home; it would outlive the folder it serves
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
            capture_output=True,
            check=False,
            timeout=TIMEOUT_S,
        )
        shutil.rmtree(home, ignore_errors=True)


def run(gpg: str, home: Path, args: list[str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GNUPGHOME": str(home), "LC_ALL": "C"}
    return subprocess.run(
        [gpg, "--batch", "--no-tty", "--quiet", "--homedir", str(home), *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=TIMEOUT_S,
        check=False,
    )
