"""Where an image keeps its Python, which one a venv is bound to, and whose user base is read.

A venv does not carry its interpreter: `bin/python` is a symlink to the one that made it
(`/usr/local/bin/python3` on the `python` images, `/usr/bin/python3` on Debian, Ubuntu and
distroless), and `pyvenv.cfg` names that directory and its version. Copied into an image
whose Python lives elsewhere, the symlink dangles; copied onto another Python version, the
interpreter reads `lib/python3.X/site-packages` of *its* version, which the venv lacks.
Likewise a user base (`pip install --user`: `~/.local`) is read only by the user whose
`PYTHONUSERBASE` (else `$HOME/.local`) it is.

Only what is known for sure is answered (None otherwise): images from a small table, venvs
made by the image's own interpreter, users whose home the Dockerfile shows.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from dfmod.semantic.environments import SYSTEM, install_environment, program_environment
from dfmod.semantic.state import (
    account,
    image_repository,
    is_root,
    known_env,
    resolve_in,
    user_before,
)
from dfmod.semantic.tools import ToolCall, basename, inline_env, is_python, is_true, tool_call
from dfmod.semantic.venvs import Venv
from dfmod.syntax.dockerfile import Dockerfile, Instruction, Stage, readable_scripts
from dfmod.syntax.records import Record


def _numeric(user: str) -> bool:
    return user.isascii() and user.isdigit()

# Images without a Python of their own in /usr/local/bin (a distribution's is in /usr/bin).
_DISTRIBUTIONS = frozenset({"debian", "ubuntu", "alpine", "busybox", "fedora", "rockylinux",
                            "almalinux", "amazonlinux", "archlinux", "opensuse/leap",
                            "redhat/ubi8", "redhat/ubi9", "redhat/ubi8-minimal",
                            "redhat/ubi9-minimal"})
_DISTRIBUTION_PREFIXES = ("gcr.io/distroless/", "cgr.dev/chainguard/",
                          "registry.access.redhat.com/ubi")
# distroless/python3 ships Debian's Python.
_DISTROLESS_VERSIONS = {"python3-debian11": "3.9", "python3-debian12": "3.11",
                        "python3-debian13": "3.13"}


class Python(Record):
    __slots__ = ("directory", "version")

    def __init__(self, directory: str, version: str | None) -> None:
        self.directory = directory  # where `python3` is: /usr/local/bin, /usr/bin
        self.version = version  # "3.12", None when the tag does not say


def _tag(reference: str) -> str:
    name = reference.split("@", 1)[0].rsplit("/", 1)[-1]
    return name.split(":", 1)[1].lower() if ":" in name else ""


def image_python(reference: str) -> Python | None:
    """The Python an image ships: the `python` images and astral's `uv:pythonX.Y-*` in
    /usr/local/bin, distroless in /usr/bin (Debian's version); None for anything else."""
    repository, tag = image_repository(reference), _tag(reference)
    if repository == "python":
        return Python("/usr/local/bin", _major_minor(tag))
    if repository == "ghcr.io/astral-sh/uv":
        version = _major_minor(tag.removeprefix("python")) if tag.startswith("python") else None
        return Python("/usr/local/bin", version) if version else None
    if repository.startswith("gcr.io/distroless/python3"):
        return Python("/usr/bin", _DISTROLESS_VERSIONS.get(repository.rsplit("/", 1)[-1]))
    return None


def _major_minor(tag: str) -> str | None:
    """`3.12` of a tag that starts with it (`3.12.4-slim`, `3.12-bookworm`), else None: what
    `(\\d+)\\.(\\d+)` matches at its start, without a pattern to compile at start-up."""
    major, dot, rest = tag.partition(".")
    digits = 0
    while digits < len(rest) and rest[digits].isdecimal():
        digits += 1
    if not (dot and major.isdecimal() and digits):
        return None
    return f"{major}.{rest[:digits]}"


def _root(doc: Dockerfile, stage: Stage) -> str:
    return doc.lineage(stage)[0].base


def _is_distribution(repository: str) -> bool:
    return repository in _DISTRIBUTIONS or repository.startswith(_DISTRIBUTION_PREFIXES)


def _lineage(doc: Dockerfile, stage: Stage) -> list[Instruction]:
    return [item for each in doc.lineage(stage) for item in each.instructions]


def lacks(doc: Dockerfile, stage: Stage, directory: str) -> bool:
    """Whether the image `stage` builds certainly has no Python in `directory`: a
    distribution or distroless base for /usr/local/bin, a slim or Alpine `python` image for
    /usr/bin — and nothing in the Dockerfile that could put one there (a `COPY` into it or
    above it, a `RUN` that names it, builds Python or installs the distribution's)."""
    base = _root(doc, stage)
    repository, tag = image_repository(base), _tag(base)
    if directory == "/usr/local/bin":
        if not _is_distribution(repository):
            return False
    elif directory == "/usr/bin":
        if repository != "python" or not ("slim" in tag or "alpine" in tag):
            return False
    else:
        return False
    parent = posixpath.dirname(directory)
    for item in _lineage(doc, stage):
        if item.keyword in ("COPY", "ADD") and item.words:
            where = resolve_in(doc, item, item.words[-1].value)
            if where is None or where in ("/", "/usr") or where == parent or where.startswith(
                    parent + "/"):
                return False
        for script in readable_scripts(doc, item):
            text = script.source.text
            if parent in text or "pyenv" in text or "conda" in text or "altinstall" in text:
                return False
            if directory == "/usr/bin" and "python3" in text and re.search(
                    r"\b(apt-get|apt|apk|dnf|yum|microdnf)\b", text):
                return False
    return True


def _uses_managed_python(doc: Dockerfile, stage: Stage) -> bool:
    """uv may pick an interpreter of its own: `uv python install`, its settings for that."""
    for item in _lineage(doc, stage):
        env = known_env(doc, item)
        if any(name in env for name in ("UV_PYTHON", "UV_PYTHON_INSTALL_DIR",
                                         "UV_PYTHON_PREFERENCE", "UV_MANAGED_PYTHON")):
            return True
        for script in readable_scripts(doc, item):
            for command in script.commands:
                call = tool_call(command)
                if call is not None and call.tool == "uv" and call.subcommand == "python":
                    return True
    return False


def venv_python(doc: Dockerfile, stage: Stage, venv: Venv) -> Python | None:
    """The interpreter a venv built in `stage` links to, where that is certain: the image's
    own, run by `python -m venv` (by its name through `PATH`, or by its path), `virtualenv`,
    `uv venv`/`uv sync` or poetry without another interpreter asked for."""
    image = image_python(_root(doc, stage))
    if venv.how == "VIRTUAL_ENV":
        return None
    for script in readable_scripts(doc, venv.instruction):
        for command in script.commands:
            argv = command.argv
            if not argv or argv[0] is None:
                continue
            name = basename(argv[0])
            env: Mapping[str, str] = known_env(doc, venv.instruction)
            if venv.how.startswith("python -m") and is_python(name) and argv[1:3] in (
                    ["-m", "venv"], ["-m", "virtualenv"]):
                if "/" in argv[0]:
                    version = re.match(r"python(\d+\.\d+)$", name)
                    return Python(posixpath.dirname(argv[0]), version.group(1) if version else None)
                if program_environment(argv[0], env) != SYSTEM:
                    return None  # another venv's python made this one
                return image
            call = tool_call(command)
            asks = any(value in ("-p", "--python") or (value or "").startswith("--python=")
                       for value in argv)
            if name == "virtualenv" and venv.how == "virtualenv":
                return None if asks else image
            if call is not None and call.tool == "uv" and call.subcommand in ("venv", "sync") \
                    and venv.how in ("uv venv", "uv sync"):
                managed = asks or "UV_PYTHON" in inline_env(call.command) or _uses_managed_python(doc, stage)
                return None if managed else image
            if call is not None and call.tool == "poetry" and call.is_install and venv.how == "poetry":
                return image
    return None


# -- user bases ------------------------------------------------------------------------

def user_install(doc: Dockerfile, instruction: Instruction, call: ToolCall) -> bool:
    """Whether a pip install writes to the user site: `--user`, `PIP_USER`, or a non-root
    `USER` with the system's pip (which falls back to the user site)."""
    if call.tool != "pip" or call.subcommand != "install":
        return False
    if install_environment(doc, instruction, call) != SYSTEM:
        return False
    env = {**known_env(doc, instruction), **inline_env(call.command)}
    if call.option_values("-t", "--target", "--prefix", "--root"):
        return False
    return (call.has_option("--user") or is_true(env.get("PIP_USER", ""))
            or not is_root(user_before(doc, instruction)))


def written_user_base(doc: Dockerfile, instruction: Instruction) -> str | None:
    """The user base a user-site install at `instruction` writes: `PYTHONUSERBASE`, else
    `$HOME/.local` (`HOME` from `ENV`, else the user's home)."""
    env = known_env(doc, instruction)
    if env.get("PYTHONUSERBASE"):
        return posixpath.normpath(env["PYTHONUSERBASE"])
    user = user_before(doc, instruction)
    if env.get("HOME"):
        home = env["HOME"]
    elif is_root(user):
        home = "/root"
    elif user is None or _numeric(user):
        return None
    else:
        home = account(doc, instruction, user).home
    return posixpath.normpath(home + "/.local")


def user_bases(doc: Dockerfile, stage: Stage) -> list[str]:
    """The user bases that user-site installs of `stage` (and its lineage) write."""
    found: list[str] = []
    for item in _lineage(doc, stage):
        for script in readable_scripts(doc, item):
            for command in script.commands:
                call = tool_call(command)
                if call is not None and user_install(doc, item, call):
                    base = written_user_base(doc, item)
                    if base is not None and base not in found:
                        found.append(base)
    return found


def read_user_bases(doc: Dockerfile, instruction: Instruction) -> list[str] | None:
    """The user bases the system Python may read when `instruction` (a CMD) runs: the
    `PYTHONUSERBASE`, else `$HOME/.local` of its user — a named user's home as the
    Dockerfile's `useradd -d` says, else `/home/NAME`. None when it cannot be known (a
    numeric `USER`, `PYTHONNOUSERSITE`)."""
    env = known_env(doc, instruction)
    if env.get("PYTHONNOUSERSITE"):
        return None
    if env.get("PYTHONUSERBASE"):
        return [posixpath.normpath(env["PYTHONUSERBASE"])]
    if env.get("HOME"):
        return [posixpath.normpath(env["HOME"] + "/.local")]
    user = user_before(doc, instruction)
    if is_root(user):
        return ["/root/.local"]
    if user is None or _numeric(user):
        return None
    return [posixpath.normpath(account(doc, instruction, user).home + "/.local")]
