"""Compose files as Compose reads them together: `-f base -f override`, `include:`, `extends:`.

A service is judged by what `docker compose -f base -f override config` would show, not by
one file's text: a healthcheck written in the base counts for the override, and the other
way round. Compose's merge rules, as far as the rules need them: mappings merge key by key
with the later file winning, a short `depends_on` list is read as the long form first (so
entries merge per dependency), other sequences and scalars are replaced, and the tags
`!reset` (drop the value) and `!override` (replace without merging) are honoured.
`include:` adds the services of the files it names; `extends:` starts a service from
another one (in the same file or `file:`), its own keys merged over it.

Paths follow Compose: build paths of an override are relative to the first file's
directory (the project directory), those of an included or extended file to that file's.
Files are read through a `load` function, so a caller can hand over what it has parsed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dfmod.syntax.compose import ComposeFile, build_location, healthcheck_state
from dfmod.syntax.records import Record

Loader = Callable[[str], "ComposeFile | None"]
_MAX_DEPTH = 8  # include/extends chains deeper than this are not followed (cycles end here)


class MergedService:
    """One service of the merged model; `files` are the group's files that define it."""

    __slots__ = ("name", "data", "base", "files")

    def __init__(self, name: str, data: dict[str, Any] | None = None, base: str = ".",
                 files: list[int] | None = None) -> None:
        self.name = name
        self.data = {} if data is None else data
        self.base = base  # the directory its build paths are relative to
        self.files = [] if files is None else files

    @property
    def complete(self) -> bool:
        """Whether it has `image` or `build`: a service without is a partial override."""
        return "image" in self.data or "build" in self.data

    def dockerfile(self) -> str | None:
        location = build_location(self.data.get("build"), self.base)
        return None if location is None else location[1]

    def depends_on(self) -> dict[str, str]:
        """Dependency → condition, in the long form."""
        return {name: (value.get("condition", "service_started") if isinstance(value, Mapping)
                       else "service_started")
                for name, value in _long_depends_on(self.data.get("depends_on")).items()}

    def required(self, dependency: str) -> bool:
        """Whether the `depends_on` entry is required (`required: false`: Compose only warns
        when the dependency fails to start or become healthy)."""
        entry = _long_depends_on(self.data.get("depends_on")).get(dependency)
        return not (isinstance(entry, Mapping) and entry.get("required") is False)


class ComposeModel:
    """The services of a group of compose files merged in order (`-f` order)."""

    def __init__(self, files: Sequence[ComposeFile], load: Loader) -> None:
        self.files = list(files)
        self._load = load
        self.services: dict[str, MergedService] = {}
        project = os.path.dirname(self.files[0].path) if self.files else "."
        for index, doc in enumerate(self.files):
            for name, (data, base) in self._own_services(doc, 0).items():
                service = self.services.setdefault(name, MergedService(name, base=project))
                service.data = _merge(service.data, data)
                if index == 0 or base != os.path.dirname(doc.path):
                    service.base = base  # else an override's paths: the project directory
                service.files.append(index)

    def service(self, name: str) -> MergedService | None:
        return self.services.get(name)

    def healthcheck(self, name: str) -> str | None:
        """"defined", "disabled", or None (no healthcheck, or no such service)."""
        service = self.services.get(name)
        return None if service is None else healthcheck_state(service.data)

    def written_condition(self, service: str, dependency: str) -> str | None:
        """The `condition:` written for `service`'s `depends_on` entry `dependency` by the
        last file of the group that writes the entry; None for the short form (a list item)
        or a long-form entry without `condition` — what Compose reads as `service_started`
        without anyone having asked for it."""
        condition = None
        for doc in self.files:
            data = self._own_services(doc, 0, resolve=False).get(service)
            listed = data[0].get("depends_on") if data is not None else None
            if isinstance(listed, _Tagged):
                listed, condition = listed.value, None
            if isinstance(listed, list) and dependency in listed:
                condition = None
            elif isinstance(listed, Mapping) and dependency in listed:
                entry = listed[dependency]
                written = entry.get("condition") if isinstance(entry, Mapping) else None
                condition = written if isinstance(written, str) else None
        return condition

    def set_after(self, index: int, service: str, dependency: str) -> bool:
        """Whether a file after `index` in the group writes `service`'s `depends_on` entry for
        `dependency` (so the text of file `index` is not what Compose uses for it)."""
        for doc in self.files[index + 1:]:
            data = self._own_services(doc, 0).get(service)
            if data is None:
                continue
            listed = data[0].get("depends_on")
            if isinstance(listed, _Tagged) or dependency in _long_depends_on(listed):
                return True
        return False

    # -- one file: its documents, includes and extends -------------------------------
    def _own_services(self, doc: ComposeFile, depth: int,
                      resolve: bool = True) -> dict[str, tuple[dict[str, Any], str]]:
        """Service name → (data with extends resolved, base directory) of one file; with
        `resolve` False, each service's data as written (`extends:` not followed)."""
        directory = os.path.dirname(doc.path)
        found: dict[str, tuple[dict[str, Any], str]] = {}
        if depth < _MAX_DEPTH:
            for path in _included(doc):
                included = self._load(os.path.normpath(os.path.join(directory, path)))
                if included is not None:
                    found.update(self._own_services(included, depth + 1, resolve))
        raw: dict[str, Any] = {}
        for data in doc.data:
            services = data.get("services") if isinstance(data, Mapping) else None
            if isinstance(services, Mapping):
                for name, value in services.items():
                    key = str(name)
                    raw[key] = _merge(raw[key], _plain(value)) if key in raw else _plain(value)
        for name in raw:
            found[name] = self._extended(doc, raw, name, depth) if resolve else (raw[name], directory)
        return found

    def _extended(self, doc: ComposeFile, raw: dict[str, Any], name: str,
                  depth: int) -> tuple[dict[str, Any], str]:
        data = dict(raw[name])
        base = os.path.dirname(doc.path)
        extends = data.pop("extends", None)
        if depth >= _MAX_DEPTH or extends is None:
            return data, base
        if isinstance(extends, str):
            extends = {"service": extends}
        if not isinstance(extends, Mapping) or not isinstance(extends.get("service"), str):
            return data, base
        other, target = doc, raw
        if isinstance(extends.get("file"), str):
            loaded = self._load(os.path.normpath(os.path.join(base, extends["file"])))
            if loaded is None:
                return data, base
            other, target = loaded, {}
            for item in loaded.data:
                services = item.get("services") if isinstance(item, Mapping) else None
                if isinstance(services, Mapping):
                    target.update({str(key): _plain(value) for key, value in services.items()})
        if extends["service"] not in target:
            return data, base
        parent, parent_base = self._extended(other, target, extends["service"], depth + 1)
        parent.pop("depends_on", None)  # Compose does not inherit it through extends
        merged = _merge(parent, data)
        return merged, base if "build" in data else parent_base


def load_compose(path: str) -> ComposeFile | None:
    """A compose file read from disk, or None if it cannot be read or parsed (a run reports
    that file's own problems where it checks it; here it only counts as absent)."""
    from dfmod.syntax.document import DocumentError
    from dfmod.syntax.source import InputError, read_source

    try:
        return ComposeFile(read_source(path).text, path)
    except (InputError, DocumentError):
        return None


def _included(doc: ComposeFile) -> list[str]:
    paths: list[str] = []
    for data in doc.data:
        listed = data.get("include") if isinstance(data, Mapping) else None
        for item in listed if isinstance(listed, list) else []:
            value = item.get("path") if isinstance(item, Mapping) else item
            values = value if isinstance(value, list) else [value]
            paths += [path for path in values if isinstance(path, str) and "$" not in path]
    return paths


def included_paths(doc: ComposeFile) -> list[str]:
    """The files `include:` names, resolved against the compose file's directory."""
    directory = os.path.dirname(doc.path)
    return [os.path.normpath(os.path.join(directory, path)) for path in _included(doc)]


def extended_paths(doc: ComposeFile) -> list[str]:
    """The files `extends: file:` names, resolved against the compose file's directory."""
    directory = os.path.dirname(doc.path)
    paths: list[str] = []
    for service in doc.services():
        extends = service.data.get("extends") if hasattr(service.data, "get") else None
        path = extends.get("file") if isinstance(extends, Mapping) else None
        if isinstance(path, str) and "$" not in path:
            paths.append(os.path.normpath(os.path.join(directory, path)))
    return paths


def _tag(value: Any) -> str | None:
    tag = getattr(value, "tag", None)
    tag = getattr(tag, "value", tag)
    return tag if isinstance(tag, str) else None


def _plain(value: Any) -> Any:
    """ruamel's data as dicts and lists, keeping the `!reset`/`!override` tags as markers."""
    tag = _tag(value)
    if isinstance(value, Mapping):
        plain: Any = {str(key): _plain(item) for key, item in value.items()}
    elif isinstance(value, list):
        plain = [_plain(item) for item in value]
    else:
        plain = getattr(value, "value", value)
    return _Tagged(tag, plain) if tag in ("!reset", "!override") else plain


class _Tagged(Record):
    __slots__ = ("tag", "value")

    def __init__(self, tag: str | None, value: Any) -> None:
        self.tag = tag
        self.value = value


def _long_depends_on(value: Any) -> dict[str, Any]:
    if isinstance(value, _Tagged):
        value = value.value
    if isinstance(value, list):
        return {str(name): {"condition": "service_started"} for name in value
                if isinstance(name, str)}
    if isinstance(value, Mapping):
        return {str(name): item for name, item in value.items()}
    return {}


def _merge(base: Any, override: Any, key: str | None = None) -> Any:
    """Compose's merge of one value over another (see the module docstring)."""
    if isinstance(override, _Tagged):
        return override.value  # `!override` replaces; `!reset` is dropped by the caller
    if key == "depends_on":
        base, override = _long_depends_on(base), _long_depends_on(override)
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for name, value in override.items():
            if isinstance(value, _Tagged) and value.tag == "!reset":
                merged.pop(name, None)
            elif name in merged:
                merged[name] = _merge(merged[name], value, name)
            else:
                merged[name] = _merge({}, value, name) if name == "depends_on" else _untag(value)
        return merged
    return _untag(override)


def _untag(value: Any) -> Any:
    if isinstance(value, _Tagged):
        return value.value
    if isinstance(value, dict):
        return {key: _untag(item) for key, item in value.items()
                if not (isinstance(item, _Tagged) and item.tag == "!reset")}
    if isinstance(value, list):
        return [_untag(item) for item in value]
    return value
