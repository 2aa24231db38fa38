"""What is in force at an instruction: expanded environment, WORKDIR, user, the command a
stage runs.

Codemods need `ENV` values the way BuildKit expands them (`ENV PATH=/opt/venv/bin:$PATH` is
a list of directories, not the text `/opt/venv/bin:$PATH`), the working directory that a
relative path in a `RUN` or `COPY` is resolved against, the names that are defined at all,
and the user (and home directory) a `RUN` runs as. A stage built `FROM` another stage
inherits its `ENV`, `WORKDIR`, `USER` and `SHELL` (`Dockerfile.instructions_before`).

Each of these is computed once per file, in one pass (`Dockerfile.fold`): asking at every
instruction costs one step per instruction, not a rescan of the history before it (20,000
instructions: a fraction of a second, where rescanning took seconds). The environment is
copied only where an `ENV`/`ARG` changes it, and handed out read-only.

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
- A value longer than `MAX_VALUE` is taken as one dfmod cannot expand: no real value is
  that long, and `ENV A=$A$A` repeated doubles it each time (a few dozen lines would fill
  the memory).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Set
from types import MappingProxyType

from dfmod.semantic.tools import basename
from dfmod.syntax.dockerfile import Dockerfile, Instruction, Stage, env_pairs, run_scripts
from dfmod.syntax.records import Record
from dfmod.syntax.text import Span, is_number

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MAX_VALUE = 8192  # characters of an expanded value (see the module docstring)

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
    return BASE_IMAGE_ENV.get(image_repository(doc.root(stage).base))


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
# Strings, compiled on first use (`re` caches them): a file that expands nothing needs neither.
_SIMPLE = rf"\$(?:\{{({_NAME})\}}|({_NAME}))"
_MODIFIER = rf"\$\{{({_NAME})(:?)([-+])"


def expand(value: str, env: Mapping[str, str]) -> str | None:
    """Expand `$X`, `${X}`, `${X:+w}`, `${X:-w}`, `${X+w}`, `${X-w}` as BuildKit does.

    `value` is already unquoted. Returns None for anything else (`${X%…}`, nested braces
    that do not close, a command substitution) and for a result longer than `MAX_VALUE`:
    callers must then not guess.
    """
    out: list[str] = []
    size = 0
    index = 0
    while index < len(value):
        if size > MAX_VALUE:
            return None
        char = value[index]
        if char != "$":
            out.append(char)
            size += 1
            index += 1
            continue
        simple = re.compile(_SIMPLE).match(value, index)
        if simple:
            out.append(env.get(simple.group(1) or simple.group(2), ""))
            size += len(out[-1])
            index = simple.end()
            continue
        modifier = re.compile(_MODIFIER).match(value, index)
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
            size += len(out[-1])
            index = end
            continue
        if value[index + 1:index + 2] in ("", " ", "/", ":"):
            out.append("$")
            size += 1
            index += 1
            continue
        return None
    return None if size > MAX_VALUE else "".join(out)


class _Env(Record):
    """The environment at one point: every name defined (None: a value dfmod cannot
    expand), and the same without those. Shared by the instructions that change nothing."""

    __slots__ = ("values", "known")

    def __init__(self, values: dict[str, str | None], known: dict[str, str]) -> None:
        self.values = values
        self.known = known


_START = _Env({"PATH": DEFAULT_PATH}, {"PATH": DEFAULT_PATH})


def _env_step(doc: Dockerfile, env: _Env, item: Instruction) -> _Env:
    """The environment after `item`: its `ENV`/`ARG` pairs, each expanded with the
    environment before it."""
    if item.keyword not in ("ENV", "ARG"):
        return env
    updates: dict[str, str | None] = {}
    for pair in env_pairs(item):
        if item.keyword == "ARG" and pair.value == "" and "=" not in doc.text[
                pair.name_span.start:pair.value_span.end]:
            updates[pair.name] = env.values.get(pair.name)  # `ARG X`: only a --build-arg sets it
            continue
        updates[pair.name] = expand(pair.value, env.known)
    if not updates:
        return env
    known = dict(env.known)
    for name, value in updates.items():
        if value is None:
            known.pop(name, None)
        else:
            known[name] = value
    return _Env({**env.values, **updates}, known)


def _env(doc: Dockerfile, instruction: Instruction, inclusive: bool = False) -> _Env:
    env = doc.fold(_env_step, _START)[instruction.index]
    return _env_step(doc, env, instruction) if inclusive and instruction.stage else env


def env_at(doc: Dockerfile, instruction: Instruction,
           inclusive: bool = False) -> Mapping[str, str | None]:
    """The environment BuildKit expands `instruction`'s words with (values expanded).

    With `inclusive`, the instruction's own `ENV`/`ARG` is applied too (the environment
    after it: for the last instruction of a stage, the image's). A value is None where
    dfmod cannot expand it. `PATH` starts as BuildKit's default (the base image may set
    another one; only entries added by the Dockerfile are certain).
    """
    return MappingProxyType(_env(doc, instruction, inclusive).values)


def env_source(doc: Dockerfile, instruction: Instruction, name: str) -> Span | None:
    """Where the `ENV` in force at `instruction` sets `name` (the name's span), if one does."""
    return doc.fold(_env_source_step, {})[instruction.index].get(name)


def _env_source_step(_doc: Dockerfile, sources: dict[str, Span], item: Instruction) -> dict[str, Span]:
    if item.keyword != "ENV":
        return sources
    return {**sources, **{pair.name: pair.name_span for pair in env_pairs(item)}}


def known_env(doc: Dockerfile, instruction: Instruction) -> Mapping[str, str]:
    """`env_at` without the values dfmod cannot expand: what is certain at `instruction`."""
    return MappingProxyType(_env(doc, instruction).known)


def defined_names(doc: Dockerfile, instruction: Instruction) -> Set[str]:
    """Names an `ENV` or `ARG` (with or without default) of the lineage defines before it."""
    return env_at(doc, instruction).keys()


_VARIABLE = r"\$\{?([A-Za-z_][A-Za-z0-9_]*)"  # compiled on first use, as `_MODIFIER`


def _expanded(doc: Dockerfile, instruction: Instruction, value: str) -> str | None:
    """`value` with `$VAR` expanded from what is certain at `instruction`, or None when a
    variable is unknown there (an `ARG` without default, a value dfmod cannot expand)."""
    if "$" not in value:
        return value
    env = known_env(doc, instruction)
    if any(name not in env for name in re.findall(_VARIABLE, value)):
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
    return doc.fold(_workdir_step, ".")[instruction.index]


def _workdir_step(doc: Dockerfile, current: str | None, item: Instruction) -> str | None:
    if item.keyword != "WORKDIR":
        return current
    value = _expanded(doc, item, item.arg_text)
    if value is None:
        return None
    if value.startswith("/"):
        return posixpath.normpath(value)
    return None if current is None else posixpath.normpath(posixpath.join(current, value))


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


class ProcessCommand(Record):
    """The program a stage's container runs: `ENTRYPOINT` (if any) else `CMD`."""

    __slots__ = ("instruction", "argv0", "exec_form")

    def __init__(self, instruction: Instruction, argv0: str, exec_form: bool) -> None:
        self.instruction = instruction
        self.argv0 = argv0  # the first word as written (after `exec` and shell wrappers)
        self.exec_form = exec_form  # False when a shell starts it (shell form, or `["sh", "-c", …]`)


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
    return doc.fold(_user_step, None)[instruction.index]


def _user_step(_doc: Dockerfile, user: str | None, item: Instruction) -> str | None:
    return (item.arg_text.split(":", 1)[0] or None) if item.keyword == "USER" else user


def is_root(user: str | None) -> bool:
    return user in (None, "root", "0")


class Account(Record):
    """A user as the Dockerfile shows it. `created` is False for a user no `useradd` or
    `adduser` of the file creates: its home then is a guess (the base image decides)."""

    __slots__ = ("name", "uid", "home", "created")

    def __init__(self, name: str, uid: int | None, home: str, created: bool = True) -> None:
        self.name = name
        self.uid = uid
        self.home = home
        self.created = created


def account(doc: Dockerfile, instruction: Instruction, user: str | None) -> Account:
    """Name, uid and home of `user`, read from `useradd`/`adduser` RUNs before it.

    Defaults follow useradd/adduser: home `/home/NAME` (`/root` for root); a numeric
    `USER 1000` is its own uid. A numeric user no RUN creates gets home `/`: that is the
    `HOME` Docker gives a uid without a passwd entry (measured with BuildKit; pip then finds
    `/.cache` not writable and disables its cache).
    """
    if is_root(user):
        return Account("root", 0, "/root")
    assert user is not None
    return doc.fold(_accounts_step, {})[instruction.index].get(user) or _new_account(user)


def _new_account(user: str) -> Account:
    if is_number(user):
        return Account(user, int(user), "/", created=False)
    return Account(user, None, f"/home/{user}", created=False)


def _accounts_step(doc: Dockerfile, accounts: dict[str, Account],
                   item: Instruction) -> dict[str, Account]:
    """The accounts after `item`: every word of a `useradd`/`adduser` in it may be the
    user a later `USER` names, so each gets the account that command gives it."""
    changed: dict[str, Account] = {}
    for script in run_scripts(doc, item):
        for command in script.commands:
            if basename(command.name) not in ("useradd", "adduser"):
                continue
            values = [word.value or "" for word in command.words[1:]]
            found_uid, found_home = _user_options(values)
            for user in dict.fromkeys(values):
                if is_number(user) and found_uid != int(user):
                    continue  # the number was some other option's value
                known = changed.get(user) or accounts.get(user) or _new_account(user)
                name, home = known.name, known.home if known.created else f"/home/{user}"
                if is_number(user) and values and not values[-1].startswith("-"):
                    name = values[-1]  # the login name is useradd's last operand
                    home = f"/home/{name}"
                changed[user] = Account(name, found_uid if found_uid is not None else known.uid,
                                        found_home or home)
    return {**accounts, **changed} if changed else accounts


def _user_options(values: list[str]) -> tuple[int | None, str | None]:
    uid: int | None = None
    home: str | None = None
    for index, value in enumerate(values):
        following = values[index + 1] if index + 1 < len(values) else ""
        if value in ("-u", "--uid") and is_number(following):
            uid = int(following)
        elif value.startswith("--uid=") and is_number(value[6:]):
            uid = int(value[6:])
        elif value in ("-d", "--home-dir", "--home", "-h") and following.startswith("/"):
            home = following
        elif value.startswith(("--home-dir=", "--home=")):
            home = value.split("=", 1)[1]
    return uid, home
