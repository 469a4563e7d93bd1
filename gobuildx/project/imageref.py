"""Image repository and tag syntax, as Docker accepts them.

Here, under the stages, so that `project.checks` can refuse a bad `image.repository` or
tag when the project is opened, and the image stage parses `--repository` with the same code.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

DEFAULT_DOMAIN = "docker.io"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9-]+)*(?::[0-9]+)?$"
    r"|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$"
)
TAG = re.compile(r"^[\w][\w.-]{0,127}$")


class Repository(BaseModel):
    """`127.0.0.1:5000/team/app` split into the registry host and the repository path."""

    model_config = ConfigDict(frozen=True)

    domain: str
    path: str

    def __str__(self) -> str:
        return f"{self.domain}/{self.path}"

    def ref(self, tag: str) -> str:
        return f"{self}:{tag}"


def parse_repository(text: str) -> Repository:
    """A repository reference without tag or digest, validated like Docker does."""
    if not text or text != text.strip():
        raise ValueError(f"{text!r} is not a valid image repository (empty or surrounded by spaces)")
    if "@" in text or re.search(r":[\w][\w.-]*$", text.split("/")[-1]):
        raise ValueError(f"{text!r} is not a repository: leave out the tag or digest (tags come from [image].tags)")
    domain = explicit_domain(text)
    path = text.partition("/")[2] if domain else text
    domain = domain or DEFAULT_DOMAIN
    if not _DOMAIN.match(domain):
        raise ValueError(f"{text!r} is not a valid image repository: bad registry host {domain!r}")
    if not _PATH.match(path) or len(str(path)) > 255:
        raise ValueError(
            f"{text!r} is not a valid image repository: {path!r} must be lowercase "
            "letters, digits and separators (. _ __ -) in '/'-separated parts"
        )
    return Repository(domain=domain, path=path)


def explicit_domain(text: str) -> str | None:
    """The registry host a reference names itself, docker's rule: a first component with a '.'
    or a ':' (a port), or `localhost`, followed by a path; None for `team/app` (Docker Hub's)."""
    first, _, rest = text.partition("/")
    return first if rest and ("." in first or ":" in first or first == "localhost") else None


def valid_domain(domain: str) -> bool:
    """A registry host as it appears in a repository: name or [IPv6], with an optional port."""
    return bool(_DOMAIN.match(domain))


def check_tag(tag: str) -> str:
    if not TAG.match(tag):
        raise ValueError(
            f"{tag!r} is not a valid image tag: up to 128 of letters, digits, '_', '.', '-', "
            "not starting with '.' or '-'"
        )
    return tag
