"""The user's Docker: `docker buildx build` (or `docker build` with BuildKit where buildx is
absent) and `docker run --rm --network=none` for the probes.

The client is `docker` on `PATH`, or `$DFMOD_DOCKER`; it talks to whatever daemon its own
environment names (`DOCKER_HOST`, `DOCKER_CONTEXT`, `DOCKER_CONFIG` pass through untouched),
and builds go to the builder `--builder` names, else the client's current one. Builds use
that builder's cache as any build would (no `--no-cache`).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dfmod.verify.buildlog import Failure, failure

RUN_TIMEOUT = 120.0  # seconds for one probe container


class VerifyError(Exception):
    """Verification cannot run at all (no client, no daemon); the message says why."""


@dataclass(frozen=True)
class BuildOptions:
    """What the user's own `docker build` would be given: passed through unchanged."""

    builder: str | None = None
    build_args: tuple[str, ...] = ()  # KEY=VALUE (or KEY: the client's environment's value)
    target: str | None = None
    platform: str | None = None
    network: str | None = None


@dataclass
class Build:
    """One build: its outcome, its log (kept in `log_path`) and the image it tagged."""

    ok: bool
    log: str
    log_path: str
    image: str | None
    command: list[str] = field(default_factory=list)
    seconds: float = 0.0
    failure: Failure | None = None


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    command: tuple[str, ...] = ()

    @property
    def docker_failed(self) -> bool:
        """Docker could not start the command (a missing file or shebang interpreter): the
        runtime's `exec …: no such file or directory`, whatever the exit status."""
        return bool(_START_FAILED.search(self.stderr))


_START_FAILED = re.compile(r"exec[: ].*(?:no such file or directory|exec format error|permission denied)"
                           r"|OCI runtime|failed to create (?:task|shim)", re.I)


class Docker:
    def __init__(self, client: str | None = None, env: Mapping[str, str] | None = None) -> None:
        self.client = client or os.environ.get("DFMOD_DOCKER") or "docker"
        self.env = {**(env if env is not None else os.environ), "DOCKER_BUILDKIT": "1"}
        self._buildx: bool | None = None

    def _call(self, args: Sequence[str], timeout: float | None = 120.0) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run([self.client, *args], env=self.env, capture_output=True,
                                  text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False,
                                  errors="replace")
        except FileNotFoundError:
            raise VerifyError(f"no Docker client: `{self.client}` is not on PATH "
                              "(set DFMOD_DOCKER to the client to use)") from None
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess([self.client, *args], 124, "",
                                               f"timed out after {timeout:g} s")

    def check(self, options: BuildOptions) -> str:
        """The daemon's version; raises VerifyError when no daemon answers."""
        proc = self._call(["version", "--format", "{{.Server.Version}}"], timeout=60)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no answer"])[-1]
            raise VerifyError(f"dfmod verify needs a Docker daemon with BuildKit: "
                              f"`{self.client} version` failed: {last}")
        if options.builder and not self.has_buildx():
            raise VerifyError("--builder needs `docker buildx`, which this client does not have")
        return proc.stdout.strip()

    def has_buildx(self) -> bool:
        if self._buildx is None:
            self._buildx = self._call(["buildx", "version"], timeout=60).returncode == 0
        return self._buildx

    def describe(self, options: BuildOptions) -> str:
        """How builds are made, for the report: `docker buildx build --builder x`."""
        words = ["docker", "buildx", "build"] if self.has_buildx() else ["docker", "build"]
        if options.builder:
            words += ["--builder", options.builder]
        return " ".join(words)

    def build(self, dockerfile: str, context: str, tag: str, options: BuildOptions,
              log_path: str, build_args: Mapping[str, str] | None = None,
              syntax: str | None = None) -> Build:
        """Build `dockerfile` (a path) with `context`, tagging `tag`; the log goes to `log_path`."""
        if self.has_buildx():
            command = ["buildx", "build", "--load"]
            if options.builder:
                command += ["--builder", options.builder]
        else:
            command = ["build"]
        command += ["--progress=plain", "-f", dockerfile, "-t", tag]
        for item in options.build_args:
            command += ["--build-arg", item]
        for key, value in (build_args or {}).items():
            command += ["--build-arg", f"{key}={value}"]
        if options.target:
            command += ["--target", options.target]
        if options.platform:
            command += ["--platform", options.platform]
        if options.network:
            command += ["--network", options.network]
        command.append(context)
        started = time.monotonic()
        proc = self._call(command, timeout=None)
        log = proc.stdout + proc.stderr
        shown = [self.client, *command]
        with open(log_path, "w", encoding="utf-8") as handle:
            handle.write(f"$ {shlex.join(shown)}\n{log}")
        ok = proc.returncode == 0
        return Build(ok, log, log_path, tag if ok else None, shown, time.monotonic() - started,
                     None if ok else failure(log, syntax))

    def run(self, image: str, args: Sequence[str], entrypoint: str | None = None,
            platform: str | None = None, timeout: float = RUN_TIMEOUT) -> Run:
        """`docker run --rm --network=none` the image: a probe never needs the network."""
        command = ["run", "--rm", "--network=none"]
        if platform:
            command += ["--platform", platform]
        if entrypoint is not None:
            command.append(f"--entrypoint={entrypoint}")
        command += [image, *args]
        proc = self._call(command, timeout=timeout)
        return Run(proc.returncode, proc.stdout, proc.stderr, (self.client, *command))

    def remove(self, images: Sequence[str]) -> None:
        if images:
            self._call(["image", "rm", "--force", *images], timeout=300)
