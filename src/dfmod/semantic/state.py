"""What is in force at an instruction: expanded environment, WORKDIR, user, the command a
stage runs.

Codemods need `ENV` values the way BuildKit expands them (`ENV PATH=/opt/venv/bin:$PATH` is
a list of directories, not the text `/opt/venv/bin:$PATH`), the working directory that a
relative path in a `RUN` or `COPY` is resolved against, the names that are defined at all,
and the user (and home directory) a `RUN` runs as. A stage built `FROM` another stage
inherits its `ENV`, `WORKDIR`, `USER` and `SHELL` (`Dockerfile.instructions_before`).

BuildKit's semantics, as implemented here:

- Words of `ENV`, `ARG`, `WORKDIR`, `COPY`… are expanded with the stage's environment: the
  base image's config env plus `ENV`/`ARG` seen so far (frontend/dockerfile/dockerfile2llb
  `dispatch` → `shlex.ProcessWord(word, getEnv(d.state))`). An unset name expands to the
  empty string (frontend/dockerfile/shell/lex.go `processDollar`).
- `PATH` is always defined: if the base image's config has none, BuildKit adds the default
  `/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` ("make sure that PATH is
  always set" in `toDispatchState`). `HOME` is *not* in that environment: a `RUN` gets it at
  run time from `/etc/passwd`, but `ENV X=$HOME/…` expands it to the empty string unless an
  `ENV HOME` (or the base image's config) sets it.
- `${X:+word}`, `${X:-word}`, `${X+word}`, `${X-word}` behave as in POSIX sh (lex.go).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from dfmod.semantic.tools import basename
from dfmod.syntax.dockerfile import Dockerfile, Instruction, Stage, env_pairs, run_scripts

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Variables that common base images set in their image config (so `$X` is defined at build
# time), read from the images' published Dockerfiles / `docker history`. Keyed by Docker Hub
# repository (`python` = `docker.io/library/python`); an image from another registry or
# namespace is unknown even if its name ends in `python`: it may be built differently.
# Deliberately small: a name missing here is only reported as "not known to be set".
BASE_IMAGE_ENV: dict[str, frozenset[str]] = {
    # docker-library/python: PATH, LANG (until 3.12), GPG_KEY (until 3.13), PYTHON_VERSION,
    # PYTHON_SHA256 (since 2024), PYTHON_PIP_VERSION / PYTHON_GET_PIP_* (older tags).
    # Not PYTHONPATH, not HOME.
    "python": frozenset({"PATH", "LANG", "GPG_KEY", "PYTHON_VERSION", "PYTHON_SHA256",
                         "PYTHON_PIP_VERSION", "PYTHON_SETUPTOOLS_VERSION",
                         "PYTHON_GET_PIP_URL", "PYTHON_GET_PIP_SHA256"}),
    # nvidia/cuda base images set the driver library path and the CUDA version.
    "nvidia/cuda": frozenset({"PATH", "LD_LIBRARY_PATH", "NVIDIA_VISIBLE_DEVICES",
                       "NVIDIA_DRIVER_CAPABILITIES", "CUDA_VERSION"}),
    "node": frozenset({"PATH", "NODE_VERSION", "YARN_VERSION"}),
    "golang": frozenset({"PATH", "GOLANG_VERSION", "GOTOOLCHAIN", "GOPATH"}),
}


def root_stage(doc: Dockerfile, stage: Stage) -> Stage:
    """The first stage of `stage`'s lineage: the one built FROM an external image."""
    seen = {stage.index}
    while True:
        parent = doc.stage_named(stage.base)
        if parent is None or parent.index in seen or parent.index >= stage.index:
            return stage
        seen.add(parent.index)
        stage = parent


def image_repository(reference: str) -> str:
    """`docker.io/library/python:3.12-slim@sha256:…` → `python`; `nvidia/cuda:12` → `nvidia/cuda`."""
    name = reference.split("@", 1)[0].lower()
    parts = name.split("/")
    if ":" in parts[-1]:
        parts[-1] = parts[-1].split(":", 1)[0]
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        if parts[0] not in ("docker.io", "index.docker.io", "registry-1.docker.io"):
            return "/".join(parts)  # another registry: keep it, so it matches nothing
        parts = parts[1:]
    if len(parts) == 2 and parts[0] == "library":
        parts = parts[1:]
    return "/".join(parts)


def base_image_env(doc: Dockerfile, stage: Stage) -> frozenset[str] | None:
    """Names the external base image of `stage` is known to set; None if not in the table."""
    return BASE_IMAGE_ENV.get(image_repository(root_stage(doc, stage).base))


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SIMPLE = re.compile(rf"\$(?:\{{({_NAME})\}}|({_NAME}))")
_MODIFIER = re.compile(rf"\$\{{({_NAME})(:?)([-+])")


def expand(value: str, env: dict[str, str]) -> str | None:
    """Expand `$X`, `${X}`, `${X:+w}`, `${X:-w}`, `${X+w}`, `${X-w}` as BuildKit does.

    `value` is already unquoted. Returns None for anything else (`${X%…}`, nested braces
    that do not close, a command substitution): callers must then not guess.
    """
    out: list[str] = []
    index = 0
    while index < len(value):
        char = value[index]
        if char != "$":
            out.append(char)
            index += 1
            continue
        simple = _SIMPLE.match(value, index)
        if simple:
            out.append(env.get(simple.group(1) or simple.group(2), ""))
            index = simple.end()
            continue
        modifier = _MODIFIER.match(value, index)
        if modifier:
            depth = 1
            end = modifier.end()
            while end < len(value) and depth:
                if value[end] == "{":
                    depth += 1
                elif value[end] == "}":
                    depth -= 1
                end += 1
            if depth:
                return None
            word = expand(value[modifier.end():end - 1], env)
            if word is None:
                return None
            name, colon, kind = modifier.groups()
            current = env.get(name)
            present = current is not None and (not colon or current != "")
            if kind == "+":
                out.append(word if present else "")
            else:
                out.append(current if present and current is not None else word)
            index = end
            continue
        if value[index + 1:index + 2] in ("", " ", "/", ":"):
            out.append("$")
            index += 1
            continue
        return None
    return "".join(out)


def env_at(doc: Dockerfile, instruction: Instruction, inclusive: bool = False) -> dict[str, str | None]:
    """The environment BuildKit expands `instruction`'s words with (values expanded).

    With `inclusive`, the instruction's own `ENV`/`ARG` is applied too (the environment
    after it: for the last instruction of a stage, the image's). A value is None where
    dfmod cannot expand it. `PATH` starts as BuildKit's default (the base image may set
    another one; only entries added by the Dockerfile are certain).
    """
    env: dict[str, str | None] = {"PATH": DEFAULT_PATH}
    items = doc.instructions_before(instruction) + ([instruction] if inclusive else [])
    for item in items:
        if item.keyword not in ("ENV", "ARG") or item.stage is None:
            continue
        known = {name: value for name, value in env.items() if value is not None}
        updates: dict[str, str | None] = {}
        for pair in env_pairs(item):
            if item.keyword == "ARG" and pair.value == "" and "=" not in doc.text[
                    pair.name_span.start:pair.value_span.end]:
                updates[pair.name] = env.get(pair.name)  # `ARG X`: only a --build-arg sets it
                continue
            updates[pair.name] = expand(pair.value, known)
        env.update(updates)
    return env


def known_env(doc: Dockerfile, instruction: Instruction) -> dict[str, str]:
    """`env_at` without the values dfmod cannot expand: what is certain at `instruction`."""
    return {name: value for name, value in env_at(doc, instruction).items() if value is not None}


def defined_names(doc: Dockerfile, instruction: Instruction) -> set[str]:
    """Names an `ENV` or `ARG` (with or without default) of the lineage defines before it."""
    names = {"PATH"}
    for item in doc.instructions_before(instruction):
        if item.keyword in ("ENV", "ARG") and item.stage is not None:
            names.update(pair.name for pair in env_pairs(item))
    return names


_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def _expanded(doc: Dockerfile, instruction: Instruction, value: str) -> str | None:
    """`value` with `$VAR` expanded from what is certain at `instruction`, or None when a
    variable is unknown there (an `ARG` without default, a value dfmod cannot expand)."""
    if "$" not in value:
        return value
    env = known_env(doc, instruction)
    if any(name not in env for name in _VARIABLE.findall(value)):
        return None
    return expand(value, env)


def workdir_at(doc: Dockerfile, instruction: Instruction) -> str | None:
    """The working directory of `instruction`.

    Absolute when a `WORKDIR` says so; otherwise relative to the base image's working
    directory, which dfmod cannot see ("." when the lineage sets no `WORKDIR`: two such
    paths can still be compared, they share that unknown start). Relative `WORKDIR`s join
    the previous one, as in BuildKit. None when a variable makes it unknowable (a later
    absolute `WORKDIR` makes it known again).
    """
    current: str | None = "."
    for item in doc.instructions_before(instruction):
        if item.keyword != "WORKDIR":
            continue
        value = _expanded(doc, item, item.arg_text)
        if value is None:
            current = None
        elif value.startswith("/"):
            current = posixpath.normpath(value)
        elif current is not None:
            current = posixpath.normpath(posixpath.join(current, value))
    return current


def resolve_in(doc: Dockerfile, instruction: Instruction, path: str) -> str | None:
    """`path` (variables expanded) as seen from `instruction`'s working directory, in the
    terms of `workdir_at`: absolute, or relative to the base image's working directory."""
    value = _expanded(doc, instruction, path)
    base = workdir_at(doc, instruction)
    if value is None or base is None:
        return None
    return posixpath.normpath(posixpath.join(base, value))


def resolve_path(value: str | None, cwd: str | None) -> str | None:
    """`value` as a normalised absolute path (relative ones against `cwd`), or None.

    A `cwd` relative to the base image's working directory is taken to start at `/` (the
    working directory of images that set none, such as the python images) — except ".",
    the base image's own, which stays unknown.
    """
    if not value or "$" in value or "*" in value or "?" in value:
        return None
    if value.startswith("/"):
        return posixpath.normpath(value)
    if cwd is None or cwd == ".":
        return None
    return posixpath.normpath(posixpath.join("/", cwd, value))


def relative_to(path: str, directory: str) -> str | None:
    """`path` relative to `directory` if it lies inside it ("." for the directory itself).

    Both come from `resolve_in`; an absolute and a base-relative path cannot be compared.
    """
    if path.startswith("/") != directory.startswith("/"):
        return None
    if directory in (".", "/"):
        inner = path.lstrip("/") if directory == "/" else path
        if inner == "" or inner == ".":
            return "."
        return None if inner == ".." or inner.startswith("../") else inner
    if path == directory:
        return "."
    if path.startswith(directory + "/"):
        return path[len(directory) + 1:]
    return None


@dataclass(frozen=True)
class ProcessCommand:
    """The program a stage's container runs: `ENTRYPOINT` (if any) else `CMD`."""

    instruction: Instruction
    argv0: str  # the first word as written (after `exec` and shell wrappers)
    exec_form: bool  # False when a shell starts it (shell form, or `["sh", "-c", …]`)


def process_command(stage: Stage) -> ProcessCommand | None:
    """The program the container starts, from the last ENTRYPOINT, else the last CMD.

    Shell form `CMD uvicorn app:app` runs `/bin/sh -c "uvicorn app:app"`: its program is the
    first word (after `exec` and `NAME=value` prefixes). Exec form `["sh", "-c", "…"]` is
    read the same way. Returns None when there is none or it cannot be read.
    """
    chosen: Instruction | None = None
    for keyword in ("ENTRYPOINT", "CMD"):
        for item in stage.instructions:
            if item.keyword == keyword:
                chosen = item
        if chosen is not None:
            break
    if chosen is None:
        return None
    argv = chosen.json_args
    if argv is not None:
        if not argv:
            return None
        if posixpath.basename(argv[0]) in ("sh", "bash", "dash", "ash") and len(argv) >= 3 \
                and argv[1] == "-c":
            words = argv[2].split()
        else:
            return ProcessCommand(chosen, argv[0], True)
    else:
        words = [word.value for word in chosen.words]
    while words and (words[0] == "exec" or re.match(rf"{_NAME}=", words[0])):
        words = words[1:]
    if not words:
        return None
    return ProcessCommand(chosen, words[0], False)


def user_before(doc: Dockerfile, instruction: Instruction) -> str | None:
    """The `USER` in force (None: the base image's, assumed root), without a group."""
    user = None
    for item in doc.instructions_before(instruction):
        if item.keyword == "USER":
            user = item.arg_text.split(":", 1)[0] or None
    return user


def is_root(user: str | None) -> bool:
    return user in (None, "root", "0")


@dataclass(frozen=True)
class Account:
    name: str
    uid: int | None
    home: str


def account(doc: Dockerfile, instruction: Instruction, user: str | None) -> Account:
    """Name, uid and home of `user`, read from `useradd`/`adduser` RUNs before it.

    Defaults follow useradd/adduser: home `/home/NAME` (`/root` for root); a numeric
    `USER 1000` is its own uid.
    """
    if is_root(user):
        return Account("root", 0, "/root")
    assert user is not None
    uid = int(user) if user.isdigit() else None
    name = user
    home = f"/home/{user}"
    for item in doc.instructions_before(instruction):
        for script in run_scripts(doc, item):
            for command in script.commands:
                if basename(command.name) not in ("useradd", "adduser"):
                    continue
                values = [word.value or "" for word in command.words[1:]]
                if user not in values:
                    continue
                found_uid, found_home = _user_options(values)
                if user.isdigit() and found_uid != int(user):
                    continue  # the number was some other option's value
                if user.isdigit() and values and not values[-1].startswith("-"):
                    name = values[-1]  # the login name is useradd's last operand
                    home = f"/home/{name}"
                uid = found_uid if found_uid is not None else uid
                home = found_home or home
    return Account(name, uid, home)


def _user_options(values: list[str]) -> tuple[int | None, str | None]:
    uid: int | None = None
    home: str | None = None
    for index, value in enumerate(values):
        following = values[index + 1] if index + 1 < len(values) else ""
        if value in ("-u", "--uid") and following.isdigit():
            uid = int(following)
        elif value.startswith("--uid=") and value[6:].isdigit():
            uid = int(value[6:])
        elif value in ("-d", "--home-dir", "--home", "-h") and following.startswith("/"):
            home = following
        elif value.startswith(("--home-dir=", "--home=")):
            home = value.split("=", 1)[1]
    return uid, home
