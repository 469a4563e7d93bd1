"""The one way gobuildx talks to a Docker engine: the Docker SDK (docker-py), never the docker CLI.

The engine is found like the docker CLI finds it (DOCKER_HOST, DOCKER_TLS_VERIFY,
DOCKER_CERT_PATH; else the local socket), from the explicit environment a command runs with.
Both stages that need an engine stand on this module: `image` (builds, tags, reads images
back: image/engine.py) and smoke's `container` runner (looks an image up, loads its tarball,
runs it contained and always removes the container).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]
import docker.types  # type: ignore[import-untyped]
import docker.utils  # type: ignore[import-untyped]
import requests.exceptions

DEFAULT_HOST = "unix:///var/run/docker.sock"
START_HINT = "start it (`sudo systemctl start docker`, or run `dockerd`) or set DOCKER_HOST"
TIMEOUT_S = 120.0  # any one request but a run's wait
DAEMON_ERROR = 125  # the exit code `docker run` gives when the engine, not the program, failed
MIB = 1024 * 1024
# What an unreachable or failing engine raises through the SDK.
FAILURES: tuple[type[BaseException], ...] = (
    docker.errors.DockerException,
    requests.exceptions.RequestException,
    OSError,
)
ANSWERS: tuple[type[BaseException], ...] = (*FAILURES, KeyError)  # ... or an answer without the field asked for


class EngineError(Exception):
    """The Docker engine is unreachable or a request failed; the message says which."""


class EngineDown(EngineError):
    """No engine answers where the environment points; the message says how to start one."""

    def __init__(self, where: str, reason: str) -> None:
        self.where, self.reason = where, reason
        super().__init__(f"cannot reach the Docker engine at {where}: {reason}; {START_HINT}")


def address(environ: Mapping[str, str]) -> str:
    """Where the engine is looked for: DOCKER_HOST, else the default socket."""
    return environ.get("DOCKER_HOST") or DEFAULT_HOST


def connect(environ: Mapping[str, str], timeout_s: float = TIMEOUT_S) -> Any:
    """A `docker.APIClient` for the engine `address(environ)` names, after a ping."""
    try:
        kwargs = docker.utils.kwargs_from_env(environment=dict(environ))
        api = docker.APIClient(timeout=int(timeout_s), version="auto", **kwargs)
        api.ping()
        return api
    except FAILURES as exc:
        raise EngineDown(address(environ), first_line(exc)) from None


@contextmanager
def session(environ: Mapping[str, str], timeout_s: float = TIMEOUT_S) -> Iterator[Any]:
    """`connect`, closing the client's connections afterwards."""
    api = connect(environ, timeout_s)
    try:
        yield api
    finally:
        api.close()


def version(api: Any) -> str:
    """The engine's version, as `docker version` shows it for the server."""
    try:
        return str(api.version()["Version"])
    except ANSWERS as exc:
        raise EngineError(f"docker version failed: {first_line(exc)}") from None


def image_id(api: Any, ref: str) -> str | None:
    """The id (sha256:...) of the image `ref` names in the engine, or None if it has none."""
    try:
        return str(api.inspect_image(ref)["Id"])
    except docker.errors.NotFound:
        return None
    except ANSWERS as exc:
        raise EngineError(f"docker image inspect {ref} failed: {first_line(exc)}") from None


def load(api: Any, tarball: bytes | Path) -> list[str]:
    """`docker load` of a tarball (its bytes, or a file streamed from disk); returns what the
    engine reported loading."""
    what = f"docker load {tarball}" if isinstance(tarball, Path) else "docker load"
    try:
        if isinstance(tarball, Path):
            with open(tarball, "rb") as fh:
                out = list(api.load_image(fh))
        else:
            out = list(api.load_image(tarball))
    except FAILURES as exc:
        raise EngineError(f"{what} failed: {first_line(exc)}") from None
    errors = [str(m["error"]).strip() for m in out if m.get("error")]
    if errors:
        raise EngineError(f"{what} failed: {errors[0]}")
    return [str(m.get("stream", "")).strip() for m in out if m.get("stream")]


def pull(api: Any, ref: str, platform: str) -> None:
    """`docker pull --platform` of one reference (repository:tag or repository@digest)."""
    try:
        for chunk in api.pull(ref, platform=platform, stream=True, decode=True):
            if "error" in chunk:
                raise EngineError(f"docker pull {ref} failed: {str(chunk['error']).strip()}")
    except FAILURES as exc:
        raise EngineError(f"docker pull {ref} failed: {first_line(exc)}") from None


@dataclass(frozen=True)
class Container:
    """One contained run: no network, a read-only root file system, the image's own (non-root)
    user; read-only bind mounts only. `argv()` is the equivalent docker CLI line."""

    image: str
    name: str
    platform: str
    command: list[str] = field(default_factory=list)
    entrypoint: list[str] | None = None  # None: the image's own
    environment: dict[str, str] = field(default_factory=dict)
    mounts: dict[str, str] = field(default_factory=dict)  # host path -> container path, read-only
    network: str = "none"
    read_only: bool = True
    memory_mib: int | None = None  # memory and swap together (None: the engine's default, none)
    processes: int | None = None  # tasks: processes and threads
    file_size_mib: int | None = None  # the largest file it may write (RLIMIT_FSIZE)

    def argv(self) -> list[str]:
        """The `docker run` line that does what `run` does (for the record, and by hand)."""
        argv = ["docker", "run", "--rm", "--name", self.name, "--network", self.network]
        argv += ["--read-only"] if self.read_only else []
        argv += ["--platform", self.platform]
        if self.memory_mib:
            argv += ["--memory", f"{self.memory_mib}m", "--memory-swap", f"{self.memory_mib}m"]
        if self.processes:
            argv += ["--pids-limit", str(self.processes)]
        if self.file_size_mib:
            size = self.file_size_mib * MIB
            argv += ["--ulimit", f"fsize={size}:{size}"]
        for key, value in self.environment.items():
            argv += ["-e", f"{key}={value}"]
        for host, inside in self.mounts.items():
            argv += ["-v", f"{host}:{inside}:ro"]
        if self.entrypoint is not None:  # the CLI takes the entrypoint's first word, the rest as arguments
            argv += ["--entrypoint", self.entrypoint[0], self.image, *self.entrypoint[1:], *self.command]
        else:
            argv += [self.image, *self.command]
        return argv


@dataclass(frozen=True)
class Exited:
    """What a contained run did: its exit code (None if it never exited), whether it outlived
    its timeout, what it printed (stdout and stderr together) and how long it took."""

    exit_code: int | None
    timed_out: bool
    output: str
    duration_s: float
    oom_killed: bool = False  # the engine killed it at its memory limit


def run(api: Any, spec: Container, timeout_s: float) -> Exited:
    """Create, start and wait for the container as `docker run` (attached) would, pulling a
    missing image first; the container is removed whatever happens, a timed-out one killed."""
    start = time.monotonic()
    try:
        container = _create(api, spec)
    except EngineError as exc:
        return Exited(exit_code=DAEMON_ERROR, timed_out=False, output=f"{exc}\n", duration_s=time.monotonic() - start)
    try:
        return _start_and_wait(api, container, timeout_s, start)
    finally:
        remove(api, container)  # a timed-out run leaves no container behind


def remove(api: Any, container: str) -> None:
    """`docker rm -f`: kill the container if it still runs, and remove it; gone already is fine."""
    try:
        api.remove_container(container, force=True)
    except FAILURES:
        pass


def _create(api: Any, spec: Container) -> str:
    limits: dict[str, Any] = {}
    if spec.memory_mib:  # swap included: no way around the limit through swap
        limits.update(mem_limit=f"{spec.memory_mib}m", memswap_limit=f"{spec.memory_mib}m")
    if spec.processes:
        limits.update(pids_limit=spec.processes)
    if spec.file_size_mib:
        size = spec.file_size_mib * MIB
        limits.update(ulimits=[docker.types.Ulimit(name="fsize", soft=size, hard=size)])
    host_config = api.create_host_config(
        network_mode=spec.network,
        read_only=spec.read_only,
        binds={host: {"bind": inside, "mode": "ro"} for host, inside in spec.mounts.items()},
        **limits,
    )
    kwargs = dict(
        command=spec.command or None,
        entrypoint=spec.entrypoint,
        environment=spec.environment,
        name=spec.name,
        host_config=host_config,
        platform=spec.platform,
    )
    try:
        try:
            return str(api.create_container(spec.image, **kwargs)["Id"])
        except docker.errors.ImageNotFound:
            pull(api, spec.image, spec.platform)  # as `docker run` does for an image it lacks
            return str(api.create_container(spec.image, **kwargs)["Id"])
    except FAILURES as exc:
        raise EngineError(f"docker run {spec.image} failed: {first_line(exc)}") from None


def _start_and_wait(api: Any, container: str, timeout_s: float, start: float) -> Exited:
    refused = ""
    try:
        api.start(container)
    except docker.errors.APIError as exc:  # e.g. no such entrypoint: the container still has an exit code
        refused = f"docker run: the engine could not start the container: {_explanation(exc)}\n"
    except FAILURES as exc:
        return Exited(DAEMON_ERROR, False, f"docker start failed: {first_line(exc)}\n", time.monotonic() - start)
    timed_out, code = False, None
    try:
        code = int(api.wait(container, timeout=timeout_s)["StatusCode"])
    except FAILURES as exc:  # the SDK's read timeout arrives as a ConnectionError
        timed_out = _running(api, container)
        if not timed_out:  # it exited as the wait gave up, or the engine failed: ask once more
            try:
                code = int(api.wait(container, timeout=TIMEOUT_S)["StatusCode"])
            except ANSWERS:
                refused += f"docker wait failed: {first_line(exc)}\n"
                code = DAEMON_ERROR
    duration = time.monotonic() - start
    output = _logs(api, container) + refused
    return Exited(code, timed_out, output, duration, oom_killed=_oom_killed(api, container))


def _oom_killed(api: Any, container: str) -> bool:
    try:
        return bool(api.inspect_container(container)["State"]["OOMKilled"])
    except ANSWERS:
        return False


def _running(api: Any, container: str) -> bool:
    try:
        return bool(api.inspect_container(container)["State"]["Running"])
    except ANSWERS:
        return False


def _logs(api: Any, container: str) -> str:
    try:
        data = api.logs(container, stdout=True, stderr=True)
    except FAILURES as exc:
        return f"(docker logs failed: {first_line(exc)})\n"
    return bytes(data).decode("utf-8", "replace")


def _explanation(exc: BaseException) -> str:
    text = getattr(exc, "explanation", None)
    return str(text).strip() if text else first_line(exc)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its class name if it has none)."""
    text = str(exc).strip() or exc.__class__.__name__
    return text.splitlines()[0]


__all__ = [
    "Container",
    "EngineDown",
    "EngineError",
    "Exited",
    "address",
    "connect",
    "image_id",
    "load",
    "pull",
    "remove",
    "run",
    "session",
    "version",
]
