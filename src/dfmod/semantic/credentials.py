"""Which values of a compose file are credentials, and which of them are one credential.

A credential is written in three shapes: the whole value of a secret-named variable
(`DB_PASSWORD: hunter2`), the password part of a URL in any variable
(`postgres://app:hunter2@db/app`), and the literal default of an interpolation of a
secret variable (`${DB_PASSWORD:-hunter2}`, anywhere in the file). The shapes matter for a
fix, which must replace exactly the secret and nothing around it.

The grouping matters more. A database and the services that log in to it hold the same
password — `POSTGRES_PASSWORD` on the server, `DB_PASSWD` and a `DATABASE_URL` on its
clients — and a fix that replaces one side only breaks the login. So occurrences with the
same literal are one `Credential`, and so are all the defaults of one variable (they
change together or the server and its clients disagree whenever the variable is unset).
The same text seen where a fix would not look — a `command`, `entrypoint` or
`healthcheck` (`redis-server --requirepass hunter2`) — is recorded as `elsewhere`, so a
fix can refuse rather than leave one side behind.

Names are judged by their last word (`POSTGRES_PASSWORD`, `DBPASS`, `API_KEY`), since
the words before it only say whose secret it is; switches that merely mention a password
(`MYSQL_ALLOW_EMPTY_PASSWORD`) and key IDs (`MINIO_ACCESS_KEY`) are not secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dfmod.syntax.compose import ComposeFile, Node
from dfmod.syntax.records import Record

_WORDS = re.compile(r"[^A-Z0-9]+")
# Words that make a name a switch about a password rather than the password itself.
_SWITCHES = {"ALLOW", "RANDOM", "ENABLE", "ENABLED", "DISABLE", "DISABLED", "REQUIRE",
             "REQUIRED", "SKIP", "GENERATE"}
_ANSWERS = {"yes", "no", "y", "n", "true", "false", "on", "off", "1", "0"}
# `scheme://user:password@`: the user part holds no interpolation braces, so a match never
# starts inside `${…}`; the password runs to the last `@` of the authority.
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^:@/?#\s{}]*:(?P<password>[^/?#\s]*)@")
# `${NAME:-default}` / `${NAME-default}` with a default holding no further interpolation.
_DEFAULT = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?-)(?P<default>[^${}]*)\}")
# A whole value that is exactly one variable: `${NAME}`, `${NAME:-…}`, `$NAME`.
_ONE_VARIABLE = re.compile(r"\$(?:\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:[:?+-][^}]*)?\}"
                           r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))\Z")
# Where a server or client is often handed its password outside `environment`.
_ELSEWHERE = ("command", "entrypoint", "healthcheck")


def is_secret_name(name: str) -> bool:
    """Whether a variable name says it holds a secret (its last word does)."""
    words = [word for word in _WORDS.split(name.upper()) if word]
    if not words or name.upper() in ("PWD", "OLDPWD") or set(words[:-1]) & _SWITCHES:
        return False
    last = words[-1]
    if last == "KEY" and len(words) > 1:
        return words[-2] not in ("PUBLIC", "PUBLISHABLE") and not (
            words[-2] == "ACCESS" and "SECRET" not in words)
    return ((last in ("TOKEN", "SECRET", "PASS", "PASSWD", "PWD") and len(words) > 1)
            or last.endswith(("PASSWORD", "DBPASS", "DBPASSWD", "DBPWD")))


def is_literal(value: str) -> bool:
    """Non-empty and not interpolated (`$$` is an escaped, literal dollar)."""
    return value.strip() != "" and "$" not in value.replace("$$", "")


def is_secret_value(value: str) -> bool:
    """A literal that can be a secret: not empty, not interpolated, not a yes/no answer."""
    return is_literal(value) and value.strip().lower() not in _ANSWERS


def own_variable(name: str, value: str) -> bool:
    """Whether `value` is exactly an interpolation of `name` itself (`NAME: ${NAME}`)."""
    match = _ONE_VARIABLE.match(value)
    return match is not None and name in (match["name"], match["bare"])


class Occurrence(Record):
    """One place a credential is written.

    `shape` is "value" (the whole value of `name`), "url" (the password of a URL in
    `name`'s value) or "default" (the default in `${name…}`, `name` being the variable).
    `start`/`end` are offsets in the node's value of the text a fix replaces.
    """

    __slots__ = ("owner", "name", "node", "shape", "secret", "start", "end")

    def __init__(self, owner: str, name: str, node: Node, shape: str, secret: str, start: int,
                 end: int) -> None:
        self.owner = owner  # the service or top-level key it is written under
        self.name = name
        self.node = node
        self.shape = shape
        self.secret = secret  # the literal, as written
        self.start = start
        self.end = end


class Credential:
    """Every occurrence of one credential, and the same text found where fixes do not go."""

    __slots__ = ("occurrences", "elsewhere")

    def __init__(self, occurrences: list[Occurrence],
                 elsewhere: list[tuple[str, str]] | None = None) -> None:
        self.occurrences = occurrences
        self.elsewhere = [] if elsewhere is None else elsewhere  # (owner, key)

    @property
    def defaults(self) -> list[str]:
        """The variables whose defaults hold it, in file order, each once."""
        return list(dict.fromkeys(item.name for item in self.occurrences if item.shape == "default"))


def credentials(doc: ComposeFile) -> tuple[list[Credential], set[str]]:
    """The file's literal credentials in file order, and the variables some service fills
    with themselves (`POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}`)."""
    occurrences: list[Occurrence] = []
    secret_variables: set[str] = set()
    filled: set[str] = set()
    seen: set[int] = set()
    for owner, environment in _environments(doc):
        for name, node, offset in _entries(doc, environment):
            if node.start in seen:
                continue
            seen.add(node.start)
            value = (node.value or "")[offset:]
            if own_variable(name, value):
                filled.add(name)
            occurrences.extend(_in_entry(owner, name, node, offset))
            if is_secret_name(name):
                secret_variables.update(match["name"] for match in _DEFAULT.finditer(value))
    scalars = list(_scalars(doc))
    for owner, _key, node in scalars:
        occurrences.extend(_defaults(owner, node, secret_variables))
    found = _group(occurrences)
    for credential in found:
        _look_elsewhere(credential, scalars)
    return found, filled


def _in_entry(owner: str, name: str, node: Node, offset: int) -> Iterator[Occurrence]:
    """The whole value of a secret-named entry, or the URL passwords of any entry."""
    value = (node.value or "")[offset:]
    if is_secret_name(name) and is_secret_value(value):
        yield Occurrence(owner, name, node, "value", value, offset, offset + len(value))
        return
    for match in _URL_PASSWORD.finditer(value):
        password = match["password"]
        if is_secret_value(password):
            yield Occurrence(owner, name, node, "url", password, offset + match.start("password"),
                             offset + match.end("password"))


def _defaults(owner: str, node: Node, secret_variables: set[str]) -> Iterator[Occurrence]:
    """Literal defaults of secret variables in one scalar (not `$${…}`, which is text)."""
    value = node.value or ""
    for match in _DEFAULT.finditer(value):
        name, default = match["name"], match["default"]
        escaped = len(value[:match.start()]) - len(value[:match.start()].rstrip("$"))
        if (escaped % 2 == 0 and (name in secret_variables or is_secret_name(name))
                and is_secret_value(default)):
            yield Occurrence(owner, name, node, "default", default, match.start(), match.end())


def _group(occurrences: list[Occurrence]) -> list[Credential]:
    """One credential per literal text, joined with every default of a variable it is one of."""
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def root(key: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for item in occurrences:
        literal = root(("literal", item.secret))
        if item.shape == "default":
            parent[root(("variable", item.name))] = literal
    groups: dict[tuple[str, str], list[Occurrence]] = {}
    for item in sorted(occurrences, key=lambda item: (item.node.start, item.start)):
        groups.setdefault(root(("literal", item.secret)), []).append(item)
    return [Credential(items) for items in groups.values()]


def _look_elsewhere(credential: Credential, scalars: list[tuple[str, str, Node]]) -> None:
    """Record the credential's text where fixes do not reach (`command`, `healthcheck` …);
    an occurrence of the credential itself there (a default the fix drops) does not count."""
    secrets = {item.secret for item in credential.occurrences}
    pattern = re.compile("|".join(rf"(?<![A-Za-z0-9_]){re.escape(secret)}(?![A-Za-z0-9_])"
                                  for secret in sorted(secrets)))
    for owner, key, node in scalars:
        if key not in _ELSEWHERE or (owner, key) in credential.elsewhere:
            continue
        text = node.value or ""
        for item in credential.occurrences:
            if item.node is node:
                text = text[:item.start] + " " * (item.end - item.start) + text[item.end:]
        if pattern.search(text):
            credential.elsewhere.append((owner, key))


def _environments(doc: ComposeFile) -> Iterator[tuple[str, Node]]:
    """(owner, `environment` node) of services and of `x-` extension blocks, as written."""
    for service in doc.services():
        if service.node.kind == "map":
            found = service.node.get("environment")
            if found is not None:
                yield service.name, found
    for root in doc.documents:
        for key, value in root.pairs if root is not None else []:
            if key.kind == "scalar" and str(key.value).startswith("x-"):
                for found in _nested_environments(value):
                    yield str(key.value), found


def _nested_environments(node: Node) -> Iterator[Node]:
    for key, value in node.pairs:
        if key.kind == "scalar" and key.value == "environment":
            yield value
        elif value.kind == "map":
            yield from _nested_environments(value)


def _entries(doc: ComposeFile, environment: Node) -> Iterator[tuple[str, Node, int]]:
    """(name, value node, where the value starts in the node's value) of each entry.

    List entries (`NAME=value`) give the offset after `=`; map entries 0. Aliases and
    merge keys (`<<`) are followed to where the entries are written; `!reset` values,
    which remove a variable, are not values.
    """
    environment = doc.resolve(environment)
    if environment.kind == "seq":
        for item in environment.items:
            if item.kind == "scalar" and item.value and "=" in item.value:
                yield item.value.partition("=")[0], item, item.value.index("=") + 1
    elif environment.kind == "map":
        for key, value in environment.pairs:
            if key.kind == "scalar" and key.value == "<<" and key.style is None:
                for source in value.items if value.kind == "seq" else [value]:
                    yield from _entries(doc, source)
            elif (key.kind == "scalar" and key.value and value.kind == "scalar"
                    and not value.is_null and value.tag != "!reset"):
                yield key.value, value, 0


def _scalars(doc: ComposeFile) -> Iterator[tuple[str, str, Node]]:
    """(owner, key under the owner, node) of every scalar value written in the file.

    The owner is the service (under `services`) or the top-level key; the key is the
    owner's own key the scalar sits under (`environment`, `command`, `healthcheck` …).
    """
    for root in doc.documents:
        for key, value in root.pairs if root is not None else []:
            if key.kind != "scalar":
                continue
            if key.value == "services" and value.kind == "map":
                for service, node in value.pairs:
                    for inner_key, inner in node.pairs:
                        for scalar in _walk_scalars(inner):
                            yield str(service.value), str(inner_key.value), scalar
            else:
                for scalar in _walk_scalars(value):
                    yield str(key.value), str(key.value), scalar


def _walk_scalars(node: Node) -> Iterator[Node]:
    if node.kind == "scalar":
        yield node
    elif node.kind == "map":
        for _key, value in node.pairs:
            yield from _walk_scalars(value)
    else:
        for child in node.children:
            yield from _walk_scalars(child)
