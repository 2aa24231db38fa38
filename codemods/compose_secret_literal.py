"""A literal secret in a compose file's `environment`.

## What it finds
A credential written into the file, in three shapes:

```yaml
environment:
  - AUTH_KEY=sk-123456                          # a secret-named variable, list form
  DB_PASSWORD: hunter2                          # … or map form
  DATABASE_URL: postgres://app:hunter2@db/app   # a password inside a URL, any variable
  REDIS_PASSWORD: ${REDIS_PASSWORD:-hunter2}    # a literal default of an interpolation
```

A name looks like a secret when its last word is `KEY`, `TOKEN`, `SECRET`, `PASS`,
`PASSWD`, `PWD` or ends in `PASSWORD` (`PGPASSWORD`, `MYSQL_ROOT_PASSWORD`, `DBPASS`).
Not secrets, and not reported: a `…_FILE` name (it holds a path), the shell's own `PWD`,
key IDs (`…_ACCESS_KEY` without `SECRET` in the name, as in MinIO's and AWS's
access-key/secret-key pairs; `…_PUBLIC_KEY`, `…_PUBLISHABLE_KEY`), switches that only
*mention* a password (`MYSQL_ALLOW_EMPTY_PASSWORD`, `MYSQL_RANDOM_ROOT_PASSWORD`,
`…_ENABLE_…`, `…_SKIP_…`), values that are a yes/no answer (`yes`, `no`, `true`, `false`,
`on`, `off`, `1`, `0`) and user names (only the password part of a URL is a secret).
Values that use interpolation (`${AUTH_KEY}`, `$AUTH_KEY`, `postgres://u:${PW}@db`),
empty values and `!reset` (which removes a variable) are fine. Services and `x-` extension
blocks are both checked, and an environment reached through an alias (`environment: *env`)
or a merge key (`<<: *env`) is checked — and fixed — where it is written, once.

Compose files in a test directory of their repository (`test/`, `tests/`, `e2e/`,
`testing/`) are not checked: their credentials belong to throwaway services the tests
start beside them — a mock OAuth server that accepts any client secret, an LDAP image
whose password is built in — and a fix there only breaks the test.

One credential is one finding: when the same literal appears in several places — the
database's `POSTGRES_PASSWORD`, the application's `DB_PASSWD` and the password in its
`DATABASE_URL` — they are reported together and fixed together, since they must stay
equal for the application to log in.

## Why it is bad
A compose file is committed: the secret is then in the repository's history for good,
readable by everyone with access to the repository or any fork, CI log or image of it, and
rotating it means changing code. The same key is also the same in every environment. A
literal default (`${X:-hunter2}`) is the same leak: it is committed, and it is the password
every deployment runs with whenever `X` is not set — silently.

## Fix
Unsafe: every occurrence of the credential becomes the same `${NAME}` interpolation, which
Compose fills from the shell environment or the `.env` file next to the compose file: a
whole value is replaced, in a URL only the password (`postgres://app:${NAME}@db/app`), and
a literal default is dropped (`${X:-hunter2}` → `${X}`). `NAME` is the variable's own name
(the first one, for a shared credential; `DATABASE_PASSWORD` for a password found only in
`DATABASE_URL`; the existing variable for a default); when two different credentials
would get the same name, or the name is already interpolated elsewhere in the file, it is
prefixed with the service (`WORKER_API_KEY`). Put the real value in `.env` (and keep `.env`
out of git) — until then Compose warns that the variable is not set and passes an empty
string, which is why the fix is unsafe; for a value that must never be empty,
`${NAME:?NAME must be set}` makes Compose refuse to start instead. A URL password must be
put in `.env` as the URL holds it (percent-encoded). When the project has a `.env.example`
next to the compose file, the fix also appends `NAME=` (without the value) to it unless it
lists the name already, so whoever sets the project up next knows the variable exists.
The secret stays in git history: rotate it. A credential one of whose occurrences cannot
be edited exactly (an escaped or multi-line scalar, an anchored value), or whose text also
appears in a `command`, `entrypoint` or `healthcheck` (`redis-server --requirepass …`,
which the fix does not read), is reported without a fix: replacing only some occurrences
would lock the clients out.

## Example
```yaml
# before
services:
  db:
    image: postgres:16.4
    environment:
      POSTGRES_PASSWORD: hunter2
  app:
    image: ghcr.io/acme/app:1.0
    environment:
      - DATABASE_URL=postgres://postgres:hunter2@db/app
# after
services:
  db:
    image: postgres:16.4
    environment:
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
  app:
    image: ghcr.io/acme/app:1.0
    environment:
      - DATABASE_URL=postgres://postgres:${POSTGRES_PASSWORD}@db/app
```
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator

from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.edits import Applicability, Edit, EnsureLine, Finding, Fix
from dfmod.linting.wording import join_names
from dfmod.semantic.credentials import Credential, Occurrence, credentials
from dfmod.syntax.compose import ComposeFile, compose_of
from dfmod.syntax.source import InputError, OutsideProject, read_source
from dfmod.syntax.text import Span

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Directories whose compose files start throwaway services for tests (see the docstring).
_TEST_DIRECTORIES = {"test", "tests", "e2e", "testing"}


class ComposeSecretLiteral(Codemod):
    id = "compose-secret-literal"
    summary = "A literal secret in a service's environment"
    applicability = Applicability.UNSAFE
    kind = "compose"

    def check(self, ctx: Context) -> Iterator[Finding]:
        doc = compose_of(ctx)
        if _in_test_directory(doc.path):
            return
        example = os.path.join(os.path.dirname(doc.path), ".env.example")
        listed = _example_names(example)
        found, filled = credentials(doc)
        for credential, variable in zip(found, _variables(found, filled), strict=True):
            yield self._finding(doc, credential, variable, example, listed)

    def _finding(self, doc: ComposeFile, credential: Credential, variable: str | None,
                 example: str, listed: set[str] | None) -> Finding:
        first = credential.occurrences[0]
        message = f"{_what(credential)}, committed with the compose file"
        if credential.elsewhere:
            places = [f"`{key}` of `{owner}`" for owner, key in credential.elsewhere]
            message += f" and also in {join_names(places, limit=2, quote=False)}: fix it by hand"
            variable = None
        companions: tuple[EnsureLine, ...] = ()
        if variable is not None and listed is not None and variable not in listed:
            companions = (EnsureLine(example, f"{variable}="),)
        fix = None if variable is None else _fix(doc, credential, variable, companions)
        return self.finding(Span(first.node.start, first.node.end), message, fix)


def _in_test_directory(path: str) -> bool:
    """Whether the file lies in a test directory of its repository (or of the path given).

    Only the part of the path below the repository (the nearest directory holding `.git`)
    counts, so a checkout under `/home/me/tests/` is not taken for a test directory.
    """
    directory = os.path.dirname(os.path.abspath(path))
    parts: list[str] = []
    while not os.path.exists(os.path.join(directory, ".git")):
        head, tail = os.path.split(directory)
        if head == directory:
            parts = [part for part in os.path.dirname(path).split(os.sep) if part not in ("", ".", "..")]
            break
        parts.append(tail)
        directory = head
    return any(part.lower() in _TEST_DIRECTORIES for part in parts)


def _natural_name(credential: Credential) -> str | None:
    """The variable a credential is named after: its default's variable, else the first
    secret-named variable holding it, else `<URL variable>_PASSWORD` (`DATABASE_URL` →
    `DATABASE_PASSWORD`); None when defaults of several variables hold it."""
    defaults = credential.defaults
    if defaults:
        return defaults[0] if len(defaults) == 1 else None
    for item in credential.occurrences:
        if item.shape == "value" and _NAME.match(item.name):
            return item.name
    name = re.sub(r"_(URL|URI|DSN)\Z", "", credential.occurrences[0].name.upper()) + "_PASSWORD"
    return name if _NAME.match(name) else None


def _variables(found: list[Credential], filled: set[str]) -> list[str | None]:
    """The variable each credential becomes, standing for that credential alone.

    A default keeps its own variable. A name two credentials would share, or that a
    service already fills with itself (`POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}`: another
    database), gets the service as a prefix (`DB2_POSTGRES_PASSWORD`); a name only
    *referenced* elsewhere (`postgres://app:${POSTGRES_PASSWORD}@db`) is kept, since that
    client expects this very value. None: no free name.
    """
    natural = [_natural_name(credential) for credential in found]
    taken = {name for name in natural if name is not None and natural.count(name) > 1} | filled
    chosen: list[str | None] = []
    for credential, name in zip(found, natural, strict=True):
        if name is None or credential.defaults:
            chosen.append(name)
            continue
        owner = re.sub(r"[^A-Z0-9]+", "_", credential.occurrences[0].owner.removeprefix("x-").upper())
        free = [candidate for candidate in (name, f"{owner}_{name}")
                if _NAME.match(candidate) and candidate not in taken]
        chosen.append(free[0] if free else None)
        taken.update(free[:1])
    return chosen


def _what(credential: Credential) -> str:
    """What is wrong, naming each key once (a key in several services: how many)."""
    items = credential.occurrences
    owners = list(dict.fromkeys(item.owner for item in items))
    if credential.defaults and all(item.shape == "default" for item in items):
        where = f" in {len(owners)} services" if len(owners) > 1 else ""
        return f"`{credential.defaults[0]}` falls back to a literal secret{where} whenever it is unset"
    places = list(dict.fromkeys(_place(item) for item in items))
    if len(places) == 1:
        where = f" in {len(owners)} services" if len(owners) > 1 else ""
        shape = "a literal password in its URL" if items[0].shape == "url" else "a literal secret value"
        return f"`{items[0].name}` has {shape}{where}"
    return f"{join_names(places, limit=3, quote=False)} hold the same literal secret"


def _place(item: Occurrence) -> str:
    return {"value": f"`{item.name}`", "url": f"`{item.name}`'s password",
            "default": f"`{item.name}`'s default"}[item.shape]


def _fix(doc: ComposeFile, credential: Credential, variable: str,
         companions: tuple[EnsureLine, ...]) -> Fix | None:
    """One fix replacing every occurrence, or None if any of them cannot be edited exactly
    (replacing only some would leave the server and its clients disagreeing)."""
    interpolation = f"${{{variable}}}"
    edits: list[Edit] = []
    for item in credential.occurrences:
        node = item.node
        inner = doc.scalar_inner(node)
        if inner is None or node.anchor:
            return None
        value = node.value or ""
        if node.style is None and node.inside_flow():
            # `{` and `}` end a plain scalar inside `[...]` / `{...}`: quote the entry.
            new_value = value[:item.start] + interpolation + value[item.end:]
            if '"' in new_value or "\\" in new_value:
                return None
            edits.append(Edit(node.start, node.end, f'"{new_value}"'))
        else:
            edits.append(Edit(inner[0] + item.start, inner[0] + item.end, interpolation))
    edits.sort(key=lambda edit: (edit.start, edit.end))
    if any(later.start < earlier.end for earlier, later in itertools.pairwise(edits)):
        return None  # two occurrences in one flow entry, or a password inside a default
    description = f"Use `{interpolation}` interpolation"
    if len(edits) > 1:
        description += f" in all {len(edits)} places"
    if companions:
        description += " and list it in .env.example"
    return Fix(tuple(edits), Applicability.UNSAFE, description, companions)


def _example_names(path: str) -> set[str] | None:
    """Variable names listed in a `.env.example`, or None if there is none.

    One that links outside the project is not read (`dfmod.syntax.source`): its names are
    unknown, so the fix still names its line, and the companion edit reports the file.
    """
    try:
        lines = read_source(path).text.splitlines()
    except OutsideProject:
        return set()
    except InputError:
        return None
    names = set()
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.removeprefix("export ").partition("=")[0].strip())
    return names
