"""Errors that end a gobuildx command, each class with its own exit code.

The exit codes are part of the CLI contract and are documented in README.md.
"""

from __future__ import annotations


class GobuildxError(Exception):
    """A failure the user can act on; the message says what to do."""

    exit_code = 10  # anything without a code of its own below


class AuditFailed(GobuildxError):
    """An artifact breaks its declared intent (or could not be read)."""

    exit_code = 1


class ConfigError(GobuildxError):
    """targets.toml (or a command-line selection) is invalid."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class NotBuilt(GobuildxError):
    """dist/ has no manifest.json, or none of the selected targets is built in it: every
    stage that reads a build says so with this one code (README, exit codes)."""

    exit_code = 11


class ToolchainMissing(GobuildxError):
    """Go, a C compiler or another required tool is not installed."""

    exit_code = 3


class BuildFailed(GobuildxError):
    """At least one target failed to compile."""

    exit_code = 4


class ImageFailed(GobuildxError):
    exit_code = 5


class SmokeFailed(GobuildxError):
    exit_code = 6


class ReleaseRefused(GobuildxError):
    exit_code = 7


class VerifyFailed(GobuildxError):
    """`gobuildx verify`: a file of a release does not match its checksums or manifest."""

    exit_code = 8


class MergeFailed(GobuildxError):
    """`gobuildx merge`: the runners' dist folders do not join into one release."""

    exit_code = 9


class PackageFailed(GobuildxError):
    """`gobuildx package`: nfpm could not be installed, a package's dependency has no provider,
    or nfpm refused a package."""

    exit_code = 12


class WriteFailed(GobuildxError):
    """A stage could not write (or read) a file: a full disk, a read-only dist. It ends with
    that stage's own exit code (build 4, image 5, smoke 6, release 7), and is no verdict:
    a release does not record it as a smoke failure and go on."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
