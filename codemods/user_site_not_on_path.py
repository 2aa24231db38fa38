"""A console script installed into the user site (`~/.local/bin`), which is not on `PATH`.

## What it finds
A `pip install` outside any virtualenv that installs into the *user* site — because it
says `--user` (or `PIP_USER=1`), or because it runs as a non-root `USER`, where pip cannot
write the system site-packages and falls back to the user site ("Defaulting to user
installation because normal site-packages is not writeable") — while the final stage's
`CMD`/`ENTRYPOINT` starts a bare command name (`CMD ["uvicorn", …]`, `CMD gunicorn …`)
that is such a console script, and the stage's `PATH` does not contain the user's script
directory. A command counts as a console script of the install when it names a package
the same `pip install` lists (or a `-r` requirements file in the build context lists), or
is a well-known server/tool script (uvicorn, gunicorn, celery, alembic, streamlit…).
`python -m uvicorn` and absolute paths are not reported: they do not search `PATH`.
pip "outside a venv" means: no `VIRTUAL_ENV` set, and the pip the command runs is the
system's — resolved as the shell does, by its path (`/opt/venv/bin/pip`,
`/usr/local/bin/pip`), else through `PATH` (`pip`, `python -m pip`): the first entry that is
a system directory (`/usr/local/bin`, `/usr/bin`, `/bin`…) or another `…/bin`. A venv's
`bin` first on `PATH` is the venv's pip, whether the venv was made in this stage or copied
in from another (`COPY --from=builder /opt/venv /opt/venv`): its installs go into the venv,
not the user site. A venv's `bin` *after* the system directories still loses to the
system's pip on a `python` image; on other images (which may have no pip of their own)
that is not known, and nothing is reported.

## Why it is bad
A user-site install puts scripts in `$PYTHONUSERBASE/bin`, by default `~/.local/bin`
(`python -m site --user-base` + `/bin`): `/home/app/.local/bin` for `USER app`,
`/root/.local/bin` for `pip install --user` as root. Docker images do not put that
directory on `PATH`, so the container fails at start with `exec: "uvicorn": executable
file not found in $PATH`, although the package is installed and importable.

## Fix (safe)
Insert `ENV PATH=<home>/.local/bin:$PATH` on a new line right after the (last) installing
`RUN`, with the home of the installing user (from `useradd -d`/`--home-dir`, `ENV HOME`,
else `/home/<user>`, `/root`), or `$PYTHONUSERBASE/bin` if set. Adding a directory to the
front of `PATH` only makes the installed scripts findable. No fix when the install ran as
root but the container runs as another user: `/root` is not readable by that user
(mode 700 in Debian-based images), so the scripts must be installed for the runtime user
instead — see `verify-imports`.

## Proof
Built with BuildKit by `tests/builds/test_rules.py`:
`test_user_site_not_on_path_console_script_not_found` (as a non-root user, and as root with
`--user`: the CMD's script is not found before the fix and starts after it). `dfmod verify`
probe: the script is on `PATH`, `command -v <script>` in both images.

## Example
```dockerfile
# before
USER user
RUN pip install -r requirements.txt
CMD ["uvicorn", "main:app", "--host", "0.0.0.0"]
# after
USER user
RUN pip install -r requirements.txt
ENV PATH=/home/user/.local/bin:$PATH
CMD ["uvicorn", "main:app", "--host", "0.0.0.0"]
```
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Finding, Fix, insert_after
from dfmod.linting.needs import mentions, spellings
from dfmod.semantic.environments import SYSTEM, program_environment
from dfmod.semantic.state import (
    account,
    env_at,
    image_repository,
    is_root,
    known_env,
    process_command,
    user_before,
)
from dfmod.semantic.tools import ToolCall, is_python, is_true, tool_call
from dfmod.syntax.dockerfile import Instruction
from dfmod.syntax.records import Record
from dfmod.syntax.shell import Command

# Console scripts that images commonly start, by the distribution that provides them.
KNOWN_SCRIPTS = frozenset({
    "uvicorn", "gunicorn", "hypercorn", "daphne", "granian", "waitress-serve", "celery",
    "alembic", "flask", "streamlit", "gradio", "fastapi", "litestar", "django-admin",
    "jupyter", "jupyter-lab", "mlflow", "dramatiq", "rq", "huey_consumer", "scrapy",
    "locust", "prefect", "dagster", "airflow", "chainlit", "panel", "voila",
})
_TARGET_OPTIONS = {"--target", "-t", "--prefix", "--root"}
_VALUE_OPTIONS = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i",
                  "--index-url", "--extra-index-url", "-f", "--find-links", "--trusted-host",
                  "--python-version", "--platform", "--implementation", "--abi", "--src",
                  "--progress-bar", "--cache-dir", "--log", "--proxy", "--timeout", "--retries",
                  "--upgrade-strategy", "--no-binary", "--only-binary", "--config-settings", "-C"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str | None:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    return _normalise(match.group(1)) if match else None


class _UserInstall(Record):
    __slots__ = ("bin_dir", "command", "instruction", "packages", "user")

    def __init__(self, instruction: Instruction, command: Command, user: str | None,
                 bin_dir: str | None, packages: frozenset[str]) -> None:
        self.instruction = instruction
        self.command = command
        self.user = user
        self.bin_dir = bin_dir  # None: the home directory is unknown
        self.packages = packages


_PIP = spellings("pip")  # what an installing RUN holds (tool_call's "pip")


class UserSiteNotOnPath(Codemod):
    id = "user-site-not-on-path"
    summary = "pip installs console scripts into ~/.local/bin, which is not on PATH"
    applicability = Applicability.SAFE
    # A finding is a user-site install: `--user`, `PIP_USER` or a `USER` that is not root
    # (the keyword in any case). Its RUN is a `pip install` (pip, pip3, `python -m pip`).
    needs = spellings("user", any_case=True)
    changes_instruction_count = True  # the fix inserts an ENV instruction

    def check(self, ctx: Context) -> Iterator[Finding]:
        stage = ctx.doc.final_stage
        if stage is None:
            return
        started = process_command(stage)
        if started is None:
            return
        name = started.argv0
        if "/" in name or "$" in name or is_python(name):
            return
        last = stage.instructions[-1]
        installs = self._user_installs(ctx, [*ctx.doc.instructions_before(last), last])
        installs = [item for item in installs
                    if name in KNOWN_SCRIPTS or _normalise(name) in item.packages]
        if not installs:
            return
        path = env_at(ctx.doc, last, inclusive=True).get("PATH")
        if path is None:
            return
        entries = {posixpath.normpath(entry) for entry in path.split(":") if entry}
        install = installs[-1]
        if install.bin_dir in entries or any(entry.endswith("/.local/bin") for entry in entries):
            return
        runtime_user = user_before(ctx.doc, started.instruction)
        who = "root" if is_root(install.user) else f"`{install.user}`"
        where = install.bin_dir or "the user's ~/.local/bin"
        keyword = started.instruction.keyword
        same_user = (is_root(runtime_user) and is_root(install.user)) or runtime_user == install.user
        runner = "" if same_user else f", run as `{runtime_user or 'root'}`,"
        message = (f"pip installs `{name}` into {where} as {who}, which is not on PATH: the "
                   f"{keyword} at line {started.instruction.start_line}{runner} cannot find it")
        fix = None
        # No fix for another user (that user site is not theirs to use) or an unknown home.
        if same_user and install.bin_dir is not None and re.fullmatch(r"/[A-Za-z0-9._/@+-]*",
                                                                      install.bin_dir):
            edit = insert_after(ctx.doc, install.instruction, f"ENV PATH={install.bin_dir}:$PATH")
            if edit is not None:
                fix = Fix((edit,), Applicability.SAFE, f"Put {install.bin_dir} on PATH")
        yield self.finding(install.command.span, message, fix)

    def _user_installs(self, ctx: Context, items: list[Instruction]) -> list[_UserInstall]:
        found: list[_UserInstall] = []
        for item in items:
            if item.keyword != "RUN" or not mentions(item, _PIP):
                continue
            for script in ctx.scripts(item):
                for command in script.commands:
                    call = tool_call(command)
                    if call is None or call.tool != "pip" or call.subcommand != "install":
                        continue
                    install = self._user_install(ctx, item, call)
                    if install is not None:
                        found.append(install)
        return found

    def _user_install(self, ctx: Context, item: Instruction, call: ToolCall) -> _UserInstall | None:
        env = known_env(ctx.doc, item)
        inline = {a.raw.partition("=")[0]: a.raw.partition("=")[2].strip("'\"")
                  for a in call.command.assignments}
        if inline:
            env = {**env, **inline}
        if env.get("VIRTUAL_ENV") or call.has_option(*_TARGET_OPTIONS) or any(
                (word.value or "").startswith(tuple(f"{o}=" for o in _TARGET_OPTIONS))
                for word in call.args):
            return None
        if not self._system_pip(ctx, item, call.command.words[0].value or "", env):
            return None
        user = user_before(ctx.doc, item)
        explicit = call.has_option("--user") or is_true(env.get("PIP_USER", ""))
        if not explicit and is_root(user):
            return None
        home = env.get("HOME") or self._home(ctx, item, user)
        if env.get("PYTHONUSERBASE"):
            bin_dir: str | None = posixpath.normpath(env["PYTHONUSERBASE"] + "/bin")
        else:
            bin_dir = posixpath.normpath(home + "/.local/bin") if home else None
        return _UserInstall(item, call.command, user, bin_dir, frozenset(self._packages(ctx, call)))

    def _system_pip(self, ctx: Context, item: Instruction, program: str,
                    env: Mapping[str, str]) -> bool:
        """Whether `program` (pip, or the python of `python -m pip`) is the system's, as the
        shell resolves it: a venv's `bin` first on `PATH` runs the venv's."""
        if program_environment(program, env) != SYSTEM:
            return False
        if "/" in program:
            return True
        later = [entry for entry in env.get("PATH", "").split(":")
                 if entry.startswith("/") and posixpath.normpath(entry).endswith("/bin")
                 and program_environment(posixpath.join(entry, program), env) != SYSTEM]
        assert item.stage is not None
        return not later or image_repository(ctx.doc.lineage(item.stage)[0].base) == "python"

    def _home(self, ctx: Context, item: Instruction, user: str | None) -> str | None:
        """The user's home, or None for a numeric `USER` (its home is in /etc/passwd, if any)."""
        if user is not None and user.split(":", 1)[0].isdigit() and not is_root(user):
            return None
        return account(ctx.doc, item, user).home

    def _packages(self, ctx: Context, call: ToolCall) -> set[str]:
        """Distributions named on the command line or in `-r` files of the build context."""
        names: set[str] = set()
        words = call.args
        index = 0
        while index < len(words):
            value = words[index].value or ""
            following = words[index + 1].value if index + 1 < len(words) else None
            if value in ("-r", "--requirement") and following:
                names |= self._requirements(ctx, following)
                index += 2
                continue
            if value.startswith("--requirement="):
                names |= self._requirements(ctx, value.split("=", 1)[1])
            elif value in _VALUE_OPTIONS:
                index += 1
            elif not value.startswith("-"):
                name = _requirement_name(value)
                if name:
                    names.add(name)
            index += 1
        return names

    def _requirements(self, ctx: Context, path: str) -> set[str]:
        names: set[str] = set()
        full = ctx.build.file(path)
        if full is None:
            return names
        try:
            with open(full, encoding="utf-8") as file:
                for line in file:
                    line = line.split("#", 1)[0].strip()
                    if line and not line.startswith("-"):
                        name = _requirement_name(line)
                        if name:
                            names.add(name)
        except OSError:
            pass
        return names
