"""One Signer per method, composed in SIGNERS: each turns a file's bytes into its signature
file's bytes. Keys are opened once, when the release starts (open_signers), so a wrong
passphrase stops the release before anything is built."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Protocol

from gobuildx.errors import ConfigError, ToolchainMissing
from gobuildx.model.trust import SIGNATURE_SUFFIXES
from gobuildx.project.config import SignTable
from gobuildx.sign import formats, gnupg, keys


class Signer(Protocol):
    method: str
    suffix: str

    def sign(self, name: str, data: bytes, epoch: int) -> bytes: ...

    def dsse_key(self) -> formats.PrivateKey | None:
        """The key that signs DSSE envelopes (provenance), if this method's key can."""
        ...


class Minisign:
    method, suffix = "minisign", SIGNATURE_SUFFIXES["minisign"]

    def __init__(self, secret: keys.Secret) -> None:
        self.key = keys.minisign_private_key(secret, "sign.minisign")

    def sign(self, name: str, data: bytes, epoch: int) -> bytes:
        # minisign's own trusted comment, with the build date instead of the clock
        return formats.minisig(self.key.private, self.key.key_id, data, f"timestamp:{epoch}\tfile:{name}\thashed")

    def dsse_key(self) -> formats.PrivateKey | None:
        return self.key.private


class Cosign:
    method, suffix = "cosign", SIGNATURE_SUFFIXES["cosign"]

    def __init__(self, secret: keys.Secret) -> None:
        self.key = keys.pem_private_key(secret, "sign.cosign")

    def sign(self, name: str, data: bytes, epoch: int) -> bytes:
        return formats.bundle(self.key, data)

    def dsse_key(self) -> formats.PrivateKey | None:
        return self.key


class Gpg:
    """Detached armored signatures made by the gpg program (gnupg.isolated_home); the signature
    time is the build date, or the key's creation time when the key is younger (still the same
    for the same key)."""

    method, suffix = "gpg", SIGNATURE_SUFFIXES["gpg"]

    def __init__(self, secret: keys.Secret) -> None:
        program = gnupg.program()
        if program is None:
            raise ToolchainMissing(f"sign.gpg: {gnupg.INSTALL}")
        self.program, self.secret = program, secret
        self._stack = ExitStack()
        self.home = self._stack.enter_context(gnupg.isolated_home())
        try:
            self._run(["--import"], secret.text, "cannot import the key from " + secret.origin)
            self.created = self._key_created()
        except BaseException:
            self._stack.close()
            raise

    def _key_created(self) -> int:
        """The newest signing key's creation time: gpg refuses to sign at a time before it."""
        listing = self._run(["--with-colons", "--list-secret-keys"], b"", "cannot list the imported key")
        times = [int(f[5]) for f in (ln.split(":") for ln in listing.decode().splitlines()) if f[0] in ("sec", "ssb")]
        return max(times, default=0)

    def _run(self, args: list[str], stdin: bytes, failure: str) -> bytes:
        proc = gnupg.run(self.program, self.home, args, stdin)
        if proc.returncode != 0:
            # gpg's stderr names keys and files, never a passphrase; still, only its last line
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            raise ConfigError([f"sign.gpg: {failure} (gpg: {tail[0][:200]})"])
        return proc.stdout

    def sign(self, name: str, data: bytes, epoch: int) -> bytes:
        with tempfile.TemporaryDirectory(dir=self.home) as tmp:
            path = Path(tmp) / "data"
            path.write_bytes(data)
            # the passphrase goes through stdin (fd 0), never the command line that ps shows
            return self._run(
                [
                    "--pinentry-mode",
                    "loopback",
                    "--passphrase-fd",
                    "0",
                    f"--faked-system-time={max(epoch, self.created)}!",
                    "--armor",
                    "--detach-sign",
                    "--output",
                    "-",
                    str(path),
                ],
                (self.secret.passphrase or b"") + b"\n",
                f"cannot sign {name} with the key from {self.secret.origin} (wrong passphrase_env?)",
            )

    def dsse_key(self) -> formats.PrivateKey | None:
        return None

    def close(self) -> None:
        self._stack.close()


SIGNERS: dict[str, Callable[[keys.Secret], Signer]] = {"minisign": Minisign, "gpg": Gpg, "cosign": Cosign}


def open_signers(table: SignTable, root: Path, environ: Mapping[str, str]) -> list[Signer]:
    """Every configured method's signer, in SIGNERS order, its key read and opened."""
    out: list[Signer] = []
    try:
        for method, make in SIGNERS.items():
            source = getattr(table, method)
            if source is not None:
                out.append(make(keys.read_secret(method, source, root, environ)))
    except BaseException:
        close_all(out)
        raise
    return out


def close_all(signers: list[Signer]) -> None:
    for s in signers:
        close = getattr(s, "close", None)
        if close is not None:
            close()
