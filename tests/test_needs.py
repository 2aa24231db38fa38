"""`Codemod.needs` is a necessary condition: a codemod reports nothing on a document whose
searchable text holds none of its needs, so the engine may skip it there.

Each Dockerfile codemod is run directly (`check()`, without the engine's skip) on every
golden input, every `examples/` Dockerfile, every documented `## Example` and every
Dockerfile of `../shared/corpus-dev/` (where it is here): wherever it finds something, one of
its needs must be in the document's searchable text. Then the needs are written the hard
ways — cut by a line continuation, quoted, in another case, set through `ENV` — and the
engine must still find what the plain spelling gives.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from goldencases import GOLDEN, case_options
from precision import CORPUS, ROOT
from test_examples import _NAMED_FILE, EXAMPLES

from dfmod.linting import needs as spellings
from dfmod.linting.codemod import Codemod, Context
from dfmod.linting.engine import Settings, check
from dfmod.linting.registry import all_codemods
from dfmod.syntax.dockerfile import Dockerfile
from dfmod.syntax.document import DocumentError
from dfmod.workspace.kinds import kind_of

CODEMODS = {rule: codemod for rule, codemod in all_codemods().items() if codemod.kind == "dockerfile"}


def _dockerfiles(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file() and kind_of(path.name) == "dockerfile")


def _documents() -> list[tuple[str, Dockerfile, dict[str, dict]]]:
    """(name, document, options by rule) of every Dockerfile the claim is checked on."""
    found: list[tuple[Path, dict[str, dict]]] = []
    for case in sorted(GOLDEN.glob("*/*/input")):
        options = {case.parent.parent.name: case_options(case.parent).get("options", {})}
        found += [(path, options) for path in _dockerfiles(case)]
    roots = [ROOT / "examples", *([CORPUS] if CORPUS.is_dir() else [])]
    found += [(path, {}) for root in roots for path in _dockerfiles(root)]
    documents = []
    for path, options in found:
        try:
            text = path.read_text(encoding="utf-8")
            documents.append((str(path), Dockerfile(text, os.fspath(path)), options))
        except (DocumentError, UnicodeDecodeError):
            continue  # BuildKit rejects it: no codemod reads it
    return documents


def _example_documents(tmp_path: Path) -> list[tuple[str, Dockerfile]]:
    """The `# before` of every documented Dockerfile example, with the files it names."""
    found = []
    for _, name, kind, parts in EXAMPLES:
        if kind != "dockerfile" or parts[0][0] not in ("before", "reported"):
            continue
        text = parts[0][1]
        if not re.search(r"^FROM ", text, re.M):
            text = "FROM python:3.12-slim\n" + text
        for file in set(_NAMED_FILE.findall(text)):
            (tmp_path / file).write_text("fastapi\nuvicorn\n")
        found.append((name, Dockerfile(text, str(tmp_path / "Dockerfile"))))
    return found


def _findings(codemod: type[Codemod], doc: Dockerfile, options: dict[str, dict]) -> list[tuple[int, str]]:
    return [(item.span.start, item.message) for item in codemod(options.get(codemod.id)).check(Context(doc, options))]


def _unneeded(codemod: type[Codemod], doc: Dockerfile, options: dict[str, dict]) -> bool:
    """Whether `codemod` finds something in `doc` although none of its needs is there."""
    if spellings.holds(doc.searchable, codemod.needs, codemod.also_needs):
        return False
    return bool(_findings(codemod, doc, options))


def _read_every_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The codemods read every RUN: their per-RUN test of the needs (`spellings.mentions`)
    always says yes, so that a wrong need shows as a finding instead of hiding it."""
    original = spellings.mentions  # taken first: the needs module itself is patched too
    for module in list(sys.modules.values()):
        if getattr(module, "mentions", None) is original:
            monkeypatch.setattr(module, "mentions", lambda instruction, needs: True)


@pytest.fixture
def every_run_read(monkeypatch: pytest.MonkeyPatch) -> None:
    _read_every_run(monkeypatch)


def test_every_dockerfile_codemod_states_its_needs() -> None:
    assert all(codemod.needs for codemod in CODEMODS.values())


def test_a_codemod_finds_nothing_without_its_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each codemod on each document, as the engine would not run it: wherever it finds
    something while reading every RUN, one of its needs is in the document; and leaving
    the RUNs that lack them unread (`spellings.mentions`) changes nothing it finds."""
    documents = _documents() + [(name, doc, {}) for name, doc in _example_documents(tmp_path)]
    assert len(documents) > 200
    runs = [(rule, name, doc, options) for name, doc, options in documents for rule in CODEMODS]
    skipping = [_findings(CODEMODS[rule], doc, options) for rule, _, doc, options in runs]
    _read_every_run(monkeypatch)
    fresh = {name: Dockerfile(doc.text, doc.path) for name, doc, _ in documents}  # no fold kept
    reading = [_findings(CODEMODS[rule], fresh[name], options) for rule, name, _, options in runs]
    assert [(rule, name) for (rule, name, _, _), skipped, read in zip(runs, skipping, reading, strict=True)
            if skipped != read] == []
    assert [(rule, name) for (rule, name, _, options), found in zip(runs, reading, strict=True)
            if found and _unneeded(CODEMODS[rule], fresh[name], options)] == []


def test_a_need_written_with_a_json_escape_is_found() -> None:
    """An exec form's JSON strings decode `\\uXXXX` (dfmod reads them so): a need written
    that way is in the unquoted text too, next to the text as the shell reads it."""
    text = 'CMD ["\\u0070ython", "-m", "uvic\\u006Frn"]'
    assert spellings.holds(text, ("python",)) and spellings.holds(text, ("uvicorn",))
    assert spellings.holds(text, ("u0070ython",))  # `\\u` read as the shell reads it
    assert not spellings.holds(text, ("gunicorn",))
    assert spellings.unquoted('RUN p"i"p install x') == "RUN pip install x"


@pytest.mark.usefixtures("every_run_read")
def test_a_wrong_need_is_caught() -> None:
    """The check above can fail: a codemod that needs a string its findings lack is caught."""
    doc = Dockerfile("FROM python:3.12\nRUN pip install x || true\n")
    wrong = type("Wrong", (CODEMODS["masked-install-failure"],), {"needs": ("poetry",)})
    assert _unneeded(wrong, doc, {})
    assert not _unneeded(CODEMODS["masked-install-failure"], doc, {})
    also = type("Wrong", (CODEMODS["masked-install-failure"],), {"also_needs": ("poetry",)})
    assert _unneeded(also, doc, {})


def _engine_rules(text: str, path: str) -> list[str]:
    settings = Settings(list(CODEMODS.values()), unsafe_fixes=True)
    return sorted(item.rule for item in check(Dockerfile(text, path), settings.instances("dockerfile"), settings))


def _cut(doc: Dockerfile, needs: tuple[str, ...]) -> str | None:
    """`doc`'s text with the first need on an instruction line cut by a line continuation
    (`pi\\` newline `p`, `<\\` newline `<EOF`), as BuildKit joins it again; None if there is
    none to cut."""
    text = doc.text
    for needed in sorted(needs, key=text.find):
        start = text.find(needed)
        while len(needed) > 1 and start >= 0:
            instruction = doc.instruction_at(start)
            in_line = instruction is not None and all(start < heredoc.body.start
                                                       for heredoc in instruction.heredocs)
            if in_line and instruction is not None and not text[start:start + len(needed)].isspace():
                cut = start + 1
                return f"{text[:cut]}{doc.escape}\n{text[cut:]}"
            start = text.find(needed, start + 1)
    return None


def test_a_need_cut_by_a_line_continuation_is_still_found(tmp_path: Path) -> None:
    for name, doc in _example_documents(tmp_path):
        rule = name.rsplit("-", 1)[0]
        for needs in (CODEMODS[rule].needs, CODEMODS[rule].also_needs):
            cut = _cut(doc, needs)
            if cut is None:
                continue
            assert rule in _engine_rules(cut, doc.path), (name, cut)
            assert _engine_rules(cut, doc.path) == _engine_rules(doc.text, doc.path), name


# Each: the rule, a Dockerfile it reports, and how to spell its need the hard way there.
_HARD = [
    ("find-cleanup-errors", "RUN find /usr/local -type d -name __pycache__ -exec rm -rf {} \\;\n",
     "find", "f'i'nd"),
    ("find-cleanup-errors", "RUN find /usr/local -type d -name __pycache__ -exec rm -rf {} \\;\n",
     "find", 'fi"nd"'),
    ("find-cleanup-errors", "RUN find /usr/local -type d -name __pycache__ -exec rm -rf {} \\;\n",
     "find", "f\\ind"),
    ("keep-dist-info", "RUN find /usr/local -iname '*.dist-info' -exec rm -rf {} +\n",
     "dist-info", "DIST-INFO"),
    ("keep-dist-info", "RUN rm -rf /usr/local/lib/python3.12/site-packages/*.dist-info\n",
     "*.dist-info", "*.dist-in'fo'"),
    ("masked-install-failure", "RUN pip install requests || true\n", "||", "|\\\n|"),
    ("masked-failure", "RUN pip install -r r.txt && find /x -name '*.pyc' -delete || true && echo ok\n",
     "||", "|\\\n|"),
    ("pip-cache-purge", "RUN pip install requests && pip cache purge\n", "purge", "pu'rge'"),
    ("cache-mount-no-cache-dir",
     "RUN --mount=type=cache,target=/root/.cache/pip pip install --no-cache-dir requests\n",
     " pip ", " p'i'p "),
    ("cache-mount-no-cache-dir",
     "ENV PIP_NO_CACHE_DIR=1\nRUN --mount=type=cache,target=/root/.cache/pip pip install requests\n",
     " pip ", " p\\\nip "),
    ("user-site-not-on-path",
     "RUN useradd -m app\nUSER app\nENV PIP_USER=1\nRUN pip install uvicorn\nCMD [\"uvicorn\", \"main:app\"]\n",
     "pip install", '"pip"3 install'),
    ("user-site-not-on-path",
     "RUN useradd -m app\nUSER app\nRUN python -m pip install --user uvicorn\nCMD uvicorn main:app\n",
     "pip install", "p\\ip install"),
    ("undefined-env-var", "ENV PYTHONPATH=/app:$PYTHONPATH\n", "PYTHONPATH=", "PYTHON\\\nPATH="),
    ("venv-relocated",
     "FROM python:3.12 AS build\nRUN python -m venv /opt/venv && /opt/venv/bin/pip install uvicorn\n"
     "FROM python:3.12\nCOPY --from=build /opt/venv /app/venv\nCMD [\"/app/venv/bin/uvicorn\", \"m:app\"]\n",
     "--from", "--f'rom'"),
    ("venv-relocated",
     "FROM python:3.12 AS build\nENV VIRTUAL_ENV=/opt/venv\nRUN python -m venv $VIRTUAL_ENV\n"
     "FROM python:3.12\nCOPY --from=build /opt/venv /app/venv\nCMD [\"/app/venv/bin/uvicorn\", \"m:app\"]\n",
     "--from", "--fr\\\nom"),
    ("verify-imports",
     "FROM python:3.12 AS build\nRUN python -m venv /opt/venv && /opt/venv/bin/pip install fastapi\n"
     "FROM python:3.12-slim\nCOPY --from=build /opt/venv /opt/venv\n"
     "CMD [\"/opt/venv/bin/python\", \"-m\", \"uvicorn\", \"main:app\"]\n", "CMD", "cmd"),
    ("verify-imports",
     "FROM python:3.12 AS build\nRUN python -m venv /opt/venv && /opt/venv/bin/pip install fastapi\n"
     "FROM python:3.12-slim\nCOPY --from=build /opt/venv /opt/venv\n"
     "ENTRYPOINT [\"/opt/venv/bin/uvicorn\", \"main:app\"]\n", "ENTRYPOINT", "Entry\\\nPoint"),
    ("verify-imports",
     "FROM python:3.12 AS build\nRUN python -m venv /opt/venv && /opt/venv/bin/pip install fastapi\n"
     "FROM python:3.12-slim\nCOPY --from=build /opt/venv /opt/venv\n"
     "CMD [\"/opt/venv/bin/python\", \"-m\", \"uvicorn\", \"main:app\"]\n", "--from", "--fr\\\nom"),
    ("verify-imports", "RUN pip install --user -r requirements.txt\nUSER nobody\nCMD uvicorn main:app\n",
     "--user", "--us'er'"),
    ("verify-imports", "RUN pip install -r requirements.txt || true\nCMD uvicorn main:app\n", "||", "|\\\n|"),
    ("verify-imports", "RUN python -m venv /opt/venv && /opt/venv/bin/pip install -r requirements.txt\n"
     "CMD [\"python\", \"-m\", \"uvicorn\", \"main:app\"]\n", "venv /", 'v"env" /'),
    ("verify-imports", "RUN pip install virtualenv && virtualenv /opt/app\n"
     "RUN /opt/app/bin/pip install -r requirements.txt\nCMD [\"uvicorn\", \"main:app\"]\n",
     "virtualenv /", "virtual'env' /"),
    ("verify-imports", "ENV VIRTUAL_ENV=/opt/venv\nRUN /opt/venv/bin/pip install -r requirements.txt\n"
     "CMD [\"python\", \"-m\", \"uvicorn\", \"main:app\"]\n", "VIRTUAL_ENV", "VIRTUAL_\\\nENV"),
    ("copy-before-install", "WORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\n",
     "pip install", "p'ip' install"),
    ("copy-before-install", "WORKDIR /app\nCOPY . .\nRUN poetry install --no-root\n",
     "poetry", 'poet"ry"'),
]


@pytest.mark.parametrize(("rule", "plain", "old", "new"), _HARD,
                         ids=[f"{item[0]}-{number}" for number, item in enumerate(_HARD)])
def test_a_need_spelled_the_hard_way_is_still_found(rule: str, plain: str, old: str, new: str,
                                                    tmp_path: Path) -> None:
    if not plain.startswith("FROM "):
        plain = "FROM python:3.12\n" + plain
    (tmp_path / "requirements.txt").write_text("fastapi\nuvicorn\n")
    (tmp_path / "r.txt").write_text("fastapi\n")
    (tmp_path / "main.py").write_text("import fastapi\napp = fastapi.FastAPI()\n")
    path = str(tmp_path / "Dockerfile")
    assert rule in _engine_rules(plain, path)
    hard = plain.replace(old, new, 1)
    assert hard != plain
    assert _engine_rules(hard, path) == _engine_rules(plain, path)
