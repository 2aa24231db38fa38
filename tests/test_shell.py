"""The shell model: what codemods see of a RUN, with spans back in the file."""

from __future__ import annotations

import pytest

from dfmod.semantic.tools import tool_call
from dfmod.syntax.dockerfile import Dockerfile, run_scripts


def _script(text: str, index: int = 1):
    doc = Dockerfile(text)
    (script,) = run_scripts(doc, doc.instructions[index])
    return doc, script


def test_chain_across_continuations_and_comment_lines() -> None:
    text = ("FROM x\nRUN pip install -r r.txt && \\\n    # cleanup\n"
            "    find /v -name '*.pyc' -delete 2>/dev/null || true && \\\n    echo done\n")
    _doc, script = _script(text)
    chain = script.chain
    assert [e.command.name for e in chain.elements] == ["pip", "find", "true", "echo"]
    assert [op.text for op in chain.operators] == ["&&", "||", "&&"]
    find = chain.elements[1].command
    # tree-sitter binds the redirect to the `&&` list; the model re-attaches it to find
    assert [r.raw for r in find.redirects] == ["2>/dev/null"]
    assert text[find.span.start:find.span.end] == "find /v -name '*.pyc' -delete 2>/dev/null"
    assert find.argv == ["find", "/v", "-name", "*.pyc", "-delete"]
    assert chain.and_or_lists() == [(0, 3)]


def test_words_assignments_and_dynamic_values() -> None:
    text = 'FROM x\nRUN PIP_NO_CACHE_DIR=1 pip install "a b" \'c\' "$D" e\\ f\n'
    _doc, script = _script(text)
    command = script.commands[0]
    assert [a.raw for a in command.assignments] == ["PIP_NO_CACHE_DIR=1"]
    assert command.argv == ["pip", "install", "a b", "c", None, "e f"]
    for word in command.words:
        assert text[word.span.start:word.span.end] == word.raw


def test_groups_pipelines_and_compounds_are_nested_chains() -> None:
    _doc, script = _script("FROM x\nRUN { a; b; } | tee log; if true; then c && d; fi\n")
    kinds = [e.kind for e in script.chain.elements]
    assert kinds == ["pipeline", "if_statement"]
    assert [c.name for c in script.commands] == ["a", "b", "tee", "true", "c", "d"]
    assert [op.text for op in script.chain.operators] == [";"]


def test_heredoc_scripts() -> None:
    text = ("FROM x\nRUN <<EOF\nset -e\npip install a\nEOF\n"
            "RUN python3 <<PY\nprint('x')\nPY\n"
            "RUN <<EOF\n#!/usr/bin/env python3\nprint('not shell')\nEOF\n")
    doc = Dockerfile(text)
    body = run_scripts(doc, doc.instructions[1])[0]
    assert body.is_heredoc_body
    assert [c.name for c in body.commands] == ["set", "pip"]
    assert [op.text for op in body.chain.operators] == ["\n"]
    line = run_scripts(doc, doc.instructions[2])[0]
    assert [c.name for c in line.commands] == ["python3"]
    assert run_scripts(doc, doc.instructions[3]) == []


def test_a_heredoc_word_cut_by_a_continuation_is_still_the_script() -> None:
    """`RUN <`, a backslash, a newline, `<EOF`: BuildKit joins the line to `<<EOF` and runs
    the body (built: tests/builds/test_harness.py)."""
    doc = Dockerfile("FROM x\nRUN <\\\n<EOF\npip install a || true\nEOF\n")
    (body,) = run_scripts(doc, doc.instructions[1])
    assert body.is_heredoc_body
    assert [c.name for c in body.commands] == ["pip", "true"]


def test_exec_form_and_non_posix_shell_have_no_script() -> None:
    doc = Dockerfile('FROM x\nRUN ["pip", "install", "x"]\nSHELL ["pwsh", "-c"]\nRUN Get-Item\n')
    assert run_scripts(doc, doc.instructions[1]) == []
    assert run_scripts(doc, doc.instructions[3]) == []


def test_crlf_and_unicode_keep_offsets() -> None:
    text = 'FROM x\r\nRUN echo "✓ 完成" && \\\r\n    pip install --no-cache-dir flask\r\n'
    _doc, script = _script(text)
    pip = script.commands[1]
    flag = pip.words[2]
    assert text[flag.span.start:flag.span.end] == "--no-cache-dir"
    assert not script.has_error


@pytest.mark.parametrize(("command", "tool", "subcommand"), [
    ("pip install x", "pip", "install"),
    ("pip3 install x", "pip", "install"),
    ("pip3.11 install x", "pip", "install"),
    ("/opt/venv/bin/pip install x", "pip", "install"),
    ("python -m pip install x", "pip", "install"),
    ("python3 -m pip install x", "pip", "install"),
    ("python3.12 -m pip --disable-pip-version-check install x", "pip", "install"),
    ("uv pip install x", "uv-pip", "install"),
    ("uv sync --frozen", "uv", "sync"),
    ("poetry install --no-root", "poetry", "install"),
    ("pip cache purge", "pip", "cache"),
])
def test_tool_spellings(command: str, tool: str, subcommand: str) -> None:
    _, script = _script(f"FROM x\nRUN {command}\n")
    call = tool_call(script.commands[0])
    assert call is not None
    assert (call.tool, call.subcommand) == (tool, subcommand)


@pytest.mark.parametrize("command", ["python app.py", "pipx install x", "echo pip install"])
def test_not_a_packaging_tool(command: str) -> None:
    _, script = _script(f"FROM x\nRUN {command}\n")
    assert tool_call(script.commands[0]) is None


def test_account_of_a_numeric_user_comes_from_useradd() -> None:
    from dfmod.semantic.state import account

    doc = Dockerfile("FROM python:3.12\nRUN useradd -m -u 1000 app\nUSER 1000\nRUN pip install x\n")
    owner = account(doc, doc.instructions[3], "1000")
    assert (owner.name, owner.uid, owner.home) == ("app", 1000, "/home/app")


def test_pipe_binds_tighter_than_and_or() -> None:
    """tree-sitter reads `a && c 2>&1 | d` as `(a && c 2>&1) | d`; the shell does not."""
    text = "FROM x\nRUN a && c 2>&1 | d || true\n"
    _, script = _script(text)
    chain = script.chain
    assert [e.kind for e in chain.elements] == ["command", "pipeline", "command"]
    assert [op.text for op in chain.operators] == ["&&", "||"]
    pipeline = chain.elements[1]
    assert text[pipeline.span.start:pipeline.span.end] == "c 2>&1 | d"
    assert [c.name for c in pipeline.commands] == ["c", "d"]
    assert [r.raw for r in pipeline.commands[0].redirects] == ["2>&1"]


def test_comment_line_between_operator_and_operand() -> None:
    """`a ||` / `# why` / `b` in a heredoc script: b is the right operand, as bash reads it."""
    text = "FROM x\nRUN <<EOF\npip install x ||\n# why\necho no\nEOF\n"
    _, script = _script(text)
    assert [e.command.name for e in script.chain.elements if e.command] == ["pip", "echo"]
    assert [op.text for op in script.chain.operators] == ["||"]


def test_conditions_are_their_own_chains() -> None:
    doc = Dockerfile("FROM x\nRUN if a || b; then c; elif d && e; then f; else g; fi; "
                     "while h; do i; done; until j; do k; done\n")
    (script,) = run_scripts(doc, doc.instructions[1])
    conditions = sorted(command.name for chain in script.chains if chain.condition
                        for element in chain.elements for command in element.commands)
    bodies = sorted(command.name for chain in script.chains if not chain.condition
                    and chain is not script.chain for element in chain.elements
                    for command in element.commands)
    assert conditions == ["a", "b", "d", "e", "h", "j"]
    assert bodies == ["c", "f", "g", "i", "k"]
