"""`dfmod check --show-files`: every file a run covers, its kind, and what it is judged with.

One line a file — path, kind, then the build context of a Dockerfile (and where that came
from) or the files Compose merges with a compose file, and why a file nobody named is
covered — then the count. Dockerfiles whose context no source states are parsed here, to
show the context their `COPY` sources imply, exactly as a run would choose it.
"""

from __future__ import annotations

import os

from dfmod.syntax.document import DocumentError
from dfmod.syntax.parsing import parse
from dfmod.syntax.source import InputError, read_source
from dfmod.workspace.context import build_context
from dfmod.workspace.discovery import display_path
from dfmod.workspace.kinds import COMPOSE, classify
from dfmod.workspace.targets import Target


def show_files(targets: list[Target]) -> str:
    lines = [_line(target) for target in targets]
    lines.append(f"{len(targets)} file{'s' if len(targets) != 1 else ''}")
    return "".join(line + "\n" for line in lines)


def _line(target: Target) -> str:
    shown = display_path(target.path)
    try:
        text = read_source(target.path).text
        kind = target.kind or classify(target.path, text)
        if kind == COMPOSE:
            others = [display_path(path) for path in target.group
                      if os.path.realpath(path) != os.path.realpath(target.path)]
            detail = f"merged with {', '.join(others)}" if others else ""
        else:
            context = build_context(target, parse(text, target.path, kind))
            detail = f"context {display_path(context.root)} ({context.how})"
    except InputError as error:
        return f"{shown}  ?  {error.reason}"
    except DocumentError as error:
        return f"{shown}  {kind}  cannot parse: {error}"
    origin = f"  [{target.origin}]" if target.origin else ""
    return f"{shown}  {kind}  {detail}".rstrip() + origin
