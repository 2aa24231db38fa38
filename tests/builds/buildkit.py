"""Real builds for tests: BuildKit on the private Docker daemon that `.ci/build-harness` starts.

A rule's claim ("this COPY breaks the venv's console scripts", "this cache mount stays empty")
is only as good as what a real build does. These helpers let a test write a build context,
build it, run the image, run dfmod on the Dockerfile, and build again, without knowing how
the daemon was set up:

    ctx = write_context(tmp_path, {"Dockerfile": "FROM python:3.12-slim\\n..."})
    result = build(ctx, target="final")
    assert result.ok, result.log
    assert run(result.image, "python", "-c", "print(1)").stdout == "1\\n"
    assert fix(ctx / "Dockerfile", unsafe=True).returncode == 0

The daemon is private (its own socket under /var/lib/dfmod-harness, or $DFMOD_HARNESS_DIR),
is started with --bridge=none, and cannot pull: every `python:*` base is the same stand-in
image, Debian bookworm's python 3.11 under every tag (see README.md here). Builds therefore
always pass `--network=host` (RUN steps reach the package registries through the host), and
containers run with no network unless asked.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".ci" / "build-harness"
TAG_PREFIX = "dfmod-test/"
"""Every image a test tags lives under this name, so `remove_images` knows what is its own."""


def harness_dir() -> Path:
    """Where `.ci/build-harness` keeps the daemon, its env file and its caches."""
    return Path(os.environ.get("DFMOD_HARNESS_DIR", "/var/lib/dfmod-harness"))


class HarnessUnavailable(RuntimeError):
    """The daemon is not up (or cannot be started); the message says why."""


@dataclass(frozen=True)
class Harness:
    """A daemon that answered: the client to call it with and the environment to call it in."""

    docker: str
    env: Mapping[str, str]
    image: str  # the stand-in base image every python:* tag points at

    def docker_cmd(self, *args: str, timeout: float = 600, input: str | None = None,
                   extra_env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run the harness's docker client against the private daemon (never the host's)."""
        env = {**self.env, **(extra_env or {})}
        return subprocess.run([self.docker, *args], env=env, capture_output=True, text=True,
                              timeout=timeout, input=input, check=False)

    def answers(self) -> bool:
        try:
            return self.docker_cmd("version", "--format", "{{.Server.Version}}", timeout=20).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def has_image(self, name: str) -> bool:
        return self.docker_cmd("image", "inspect", name, timeout=60).returncode == 0


def read_env_file(path: Path) -> dict[str, str]:
    """The `export KEY=VALUE` lines the setup script writes (values hold no spaces)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ")
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def _client_env(harness_values: Mapping[str, str]) -> dict[str, str]:
    # Drop whatever could point the client elsewhere (a context, TLS settings, a buildx
    # builder of the developer's), then add the harness's own settings.
    env = {key: value for key, value in os.environ.items()
           if key not in {"DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "BUILDX_BUILDER"}}
    env.update(harness_values)
    env.setdefault("BUILDX_BUILDER", "default")
    return env


def find() -> tuple[Harness | None, str]:
    """The harness described by its env file, if its daemon answers and has the base image.

    Returns (harness, "") or (None, why not)."""
    env_file = harness_dir() / "env"
    if not env_file.is_file():
        return None, f"no {env_file}: the build harness was never set up here (bash .ci/build-harness)"
    values = read_env_file(env_file)
    missing = [key for key in ("DOCKER_HOST", "DFMOD_HARNESS_DOCKER", "DFMOD_HARNESS_IMAGE") if key not in values]
    if missing:
        return None, f"{env_file} lacks {', '.join(missing)}"
    harness = Harness(docker=values["DFMOD_HARNESS_DOCKER"], env=_client_env(values),
                      image=values["DFMOD_HARNESS_IMAGE"])
    if not harness.answers():
        return None, f"the harness daemon at {values['DOCKER_HOST']} does not answer"
    if not harness.has_image("python:3.12-slim"):
        return None, "the harness daemon has no python:3.12-slim stand-in image"
    return harness, ""


def start(timeout: float = 900) -> tuple[bool, str]:
    """Run the setup script once; (started, the tail of its output when it did not)."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return False, "not root on Linux"
    try:
        proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return False, f"{SCRIPT} did not finish within {timeout:.0f}s"
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return False, f"{SCRIPT} exited {proc.returncode}:\n{tail}"
    return True, ""


def ensure(allow_start: bool = True) -> tuple[Harness | None, str]:
    """The harness, starting it with the setup script (once) when it is not up."""
    harness, why = find()
    if harness is not None or not allow_start:
        return harness, why
    started, why_not = start()
    if not started:
        return None, f"{why}; starting it failed: {why_not}"
    return find()


_active: Harness | None = None
_tagged: set[str] = set()


def use(harness: Harness | None) -> None:
    """Make `harness` the one the module-level helpers talk to (the session fixture does)."""
    global _active
    _active = harness


def current() -> Harness:
    """The active harness; outside pytest, the one the env file describes."""
    if _active is None:
        harness, why = find()
        if harness is None:
            raise HarnessUnavailable(why)
        use(harness)
    assert _active is not None
    return _active


def docker(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """The docker client on the private daemon, for anything the helpers below do not cover."""
    return current().docker_cmd(*args, timeout=timeout)


# --- build contexts ---------------------------------------------------------------------------

def write_context(directory: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write `files` (relative path -> text or bytes) under `directory`; returns `directory`.

    A path ending in `/` makes an empty folder."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = directory / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return directory


# --- build --------------------------------------------------------------------------------------

@dataclass
class BuildResult:
    """What a build did: its exit code, its plain-progress log, and the image it tagged.

    `image` is None when the build failed. The log is BuildKit's `--progress=plain` output:
    each step's output lines are prefixed `#N 1.234 `, so assert on substrings."""

    returncode: int
    log: str
    image: str | None
    command: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __str__(self) -> str:  # what an assert message shows
        return f"$ {shlex.join(self.command)}\nexit {self.returncode}\n{self.log}"


def _tag_name(tag: str | None) -> str:
    if tag is None:
        return f"{TAG_PREFIX}{uuid.uuid4().hex[:12]}"
    return tag if tag.startswith(TAG_PREFIX) else TAG_PREFIX + tag


def build(context_dir: Path, dockerfile: str | Path = "Dockerfile", tag: str | None = None,
          build_args: Mapping[str, str] | None = None, target: str | None = None,
          no_cache: bool = False, plain: bool = False, timeout: float = 900) -> BuildResult:
    """Build `context_dir` with BuildKit on the private daemon, tagging the image `dfmod-test/...`.

    `dockerfile` is relative to `context_dir` unless absolute. `tag` is prefixed with
    `dfmod-test/` when it lacks it; without one a unique tag is made. The image is loaded into
    the daemon (the default `docker` driver builder), so `run` can start it.

    `--network=host` is always passed: the daemon has no bridge network, and RUN steps that
    install packages reach the registries through the host.

    `no_cache=True` disables the layer cache *and* starts every `--mount=type=cache` empty
    (BuildKit's behaviour). To re-run a step but keep what cache mounts hold, change a build
    arg the step uses instead (`build_args={"BUST": uuid}`).

    `plain=True` runs `docker build` with DOCKER_BUILDKIT=1 instead of `docker buildx build`
    (the same BuildKit, reached as most Dockerfiles' users reach it)."""
    harness = current()
    image = _tag_name(tag)
    path = Path(dockerfile)
    if not path.is_absolute():
        path = Path(context_dir) / path
    command = [harness.docker, "build"] if plain else [harness.docker, "buildx", "build", "--load"]
    command += ["--network=host", "--progress=plain", "-f", str(path), "-t", image]
    for key, value in (build_args or {}).items():
        command += ["--build-arg", f"{key}={value}"]
    if target:
        command += ["--target", target]
    if no_cache:
        command.append("--no-cache")
    command.append(str(context_dir))
    env = {**harness.env, "DOCKER_BUILDKIT": "1"}
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    log = proc.stdout + proc.stderr
    if proc.returncode == 0:
        _tagged.add(image)
        return BuildResult(0, log, image, command)
    return BuildResult(proc.returncode, log, None, command)


# --- run ----------------------------------------------------------------------------------------

@dataclass
class RunResult:
    """A container's exit code and its two streams (docker's own errors land in stderr)."""

    returncode: int
    stdout: str
    stderr: str
    command: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"$ {shlex.join(self.command)}\nexit {self.returncode}\nstdout: {self.stdout}\nstderr: {self.stderr}"


def run(image: str, *cmd: str, network: str = "none", entrypoint: str | None = None,
        env: Mapping[str, str] | None = None, user: str | None = None, workdir: str | None = None,
        timeout: float = 300) -> RunResult:
    """`docker run --rm` the image with `cmd` (the image's CMD when empty).

    `network` is "none" by default (a test's container needs no network; "host" gives the
    host's); the daemon has no bridge, so "bridge" fails. `entrypoint=""` clears the image's
    ENTRYPOINT. When docker cannot start the command at all (a missing interpreter in a
    shebang, say), `docker run` exits non-zero with `exec ...: no such file or directory` in
    stderr, as in production."""
    harness = current()
    command = [harness.docker, "run", "--rm", f"--network={network}"]
    if entrypoint is not None:
        command.append(f"--entrypoint={entrypoint}")
    for key, value in (env or {}).items():
        command += ["-e", f"{key}={value}"]
    if user is not None:
        command += ["--user", user]
    if workdir is not None:
        command += ["--workdir", workdir]
    command += [image, *cmd]
    proc = subprocess.run(command, env=dict(harness.env), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    return RunResult(proc.returncode, proc.stdout, proc.stderr, command)


def sh(image: str, script: str, **kwargs) -> RunResult:
    """Run `script` with the image's /bin/sh (whatever its ENTRYPOINT), as a RUN step would."""
    return run(image, "-c", script, entrypoint="/bin/sh", **kwargs)


# --- cleanup ------------------------------------------------------------------------------------

def remove_images(images: Iterable[str] | None = None) -> None:
    """Remove the `dfmod-test/` images this process tagged (or those given); the session
    fixture calls it at the end. Layers stay in the build cache, so rebuilding is quick."""
    names = sorted(set(images) if images is not None else _tagged)
    names = [name for name in names if name.startswith(TAG_PREFIX)]
    if not names or _active is None:
        return
    _active.docker_cmd("image", "rm", "--force", *names, timeout=300)
    _tagged.difference_update(names)


def prune_cache_mounts() -> None:
    """Empty every `--mount=type=cache` of the daemon (they are shared by id/target across
    all builds). A test that needs a fresh cache mount had better give its mount a unique
    `id=`: pruning affects builds running at the same time."""
    docker("builder", "prune", "--force", "--filter", "type=exec.cachemount")


# --- dfmod --------------------------------------------------------------------------------------

def dfmod(*args: str | os.PathLike[str], cwd: Path | None = None,
          timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the dfmod CLI of this checkout (`python -m dfmod`), as a user would."""
    return subprocess.run([sys.executable, "-m", "dfmod", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)


def fix(path: Path, *, unsafe: bool = False, select: str | None = None) -> subprocess.CompletedProcess[str]:
    """`dfmod apply --fix [--unsafe-fixes] [--select IDS] PATH`: rewrite the Dockerfile in place,
    so the test can build it again and compare."""
    args: list[str | os.PathLike[str]] = ["apply", "--fix"]
    if unsafe:
        args.append("--unsafe-fixes")
    if select:
        args += ["--select", select]
    return dfmod(*args, path)
