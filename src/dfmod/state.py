"""What is in force at an instruction: environment, user, home directory, uid.

A stage built `FROM` another stage inherits that stage's `ENV` and `USER`; these helpers
follow that chain (`Dockerfile.instructions_before`) so codemods agree on, say, which home
directory pip uses in a `RUN`.
"""

from __future__ import annotations

from dataclasses import dataclass

from dfmod.dockerfile import Dockerfile, Instruction, env_pairs
from dfmod.shell import run_scripts
from dfmod.tools import basename


def env_before(doc: Dockerfile, instruction: Instruction) -> dict[str, str]:
    """`ENV` values set before `instruction` in its stage (and the stages it builds on)."""
    env: dict[str, str] = {}
    for item in doc.instructions_before(instruction):
        if item.keyword == "ENV":
            for pair in env_pairs(item):
                env[pair.name] = pair.value
    return env


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
                uid = found_uid if found_uid is not None else uid
                home = found_home or home
    return Account(user, uid, home)


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


def expand(value: str, env: dict[str, str]) -> str:
    """Expand `$NAME` and `${NAME}` from `env` (unknown names expand to empty)."""
    import re

    def substitute(match: re.Match[str]) -> str:
        return env.get(match.group(1) or match.group(2), "")

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", substitute, value)
