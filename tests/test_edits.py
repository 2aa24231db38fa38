"""The shared edit helpers, checked by running the edited RUN in real bash."""

from __future__ import annotations

import subprocess

import pytest

from dfmod.linting.edits import apply_edits, remove_element, remove_word, wrap_in_group
from dfmod.syntax.dockerfile import Dockerfile, run_scripts


def _run_shell(text: str) -> tuple[int, list[str]]:
    """Run the RUN instruction's shell exactly as Docker would hand it to bash."""
    doc = Dockerfile(text)
    (script,) = run_scripts(doc, doc.instructions[1])
    stub = "ok() { echo \"$1\"; }; bad() { echo \"$1\"; return 1; }\n"
    result = subprocess.run(["bash", "-c", stub + script.source.text],
                            capture_output=True, text=True, check=False)
    return result.returncode, result.stdout.split()


def _element(text: str, name_arg: str):
    doc = Dockerfile(text)
    (script,) = run_scripts(doc, doc.instructions[1])
    for chain in script.chains:
        for element in chain.elements:
            command = element.command
            if command is not None and command.argv[1:2] == [name_arg]:
                return doc, element
    raise AssertionError(name_arg)


LAYOUTS = {
    "one line": "FROM x\nRUN ok a && ok b && ok c\n",
    "trailing operators": "FROM x\nRUN ok a && \\\n    ok b && \\\n    ok c\n",
    "leading operators": "FROM x\nRUN ok a \\\n    && ok b \\\n    && ok c\n",
    "inner comments": "FROM x\nRUN ok a && \\\n    # why b\n    ok b && \\\n    # why c\n    ok c\n",
    "crlf": "FROM x\r\nRUN ok a && \\\r\n    ok b && \\\r\n    ok c\r\n",
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(("victim", "left"), [("a", ["b", "c"]), ("b", ["a", "c"]),
                                              ("c", ["a", "b"])])
def test_remove_element_keeps_the_rest_of_the_chain(layout: str, victim: str,
                                                    left: list[str]) -> None:
    text = LAYOUTS[layout]
    doc, element = _element(text, victim)
    edits = remove_element(doc.text, element)
    if edits is None:  # refusing is allowed, breaking is not
        return
    new_text = apply_edits(text, edits)
    Dockerfile(new_text)  # still parses
    assert _run_shell(new_text) == (0, left)
    assert new_text.count("#") == text.count("#"), "a comment line was deleted"
    assert ("\r\n" in new_text) == ("\r\n" in text)


@pytest.mark.parametrize("chain", ["ok a && ok b || ok c", "ok a || ok b || ok c", "ok a || ok b"])
def test_remove_element_refuses_next_to_or(chain: str) -> None:
    doc, element = _element(f"FROM x\nRUN {chain}\n", "b")
    assert remove_element(doc.text, element) is None


def test_remove_element_in_heredoc_script() -> None:
    text = "FROM x\nRUN <<EOF\nset -e\nok a\nok b\nEOF\n"
    doc = Dockerfile(text)
    (script,) = run_scripts(doc, doc.instructions[1])
    element = script.chain.elements[1]
    new_text = apply_edits(text, remove_element(text, element) or [])
    assert new_text == "FROM x\nRUN <<EOF\nset -e\nok b\nEOF\n"


@pytest.mark.parametrize(("before", "after"), [
    ("RUN pip install --no-cache-dir -r r.txt\n", "RUN pip install -r r.txt\n"),
    ("RUN pip install -r r.txt --no-cache-dir\n", "RUN pip install -r r.txt\n"),
    ("RUN pip install \\\n    --no-cache-dir \\\n    -r r.txt\n", "RUN pip install \\\n    -r r.txt\n"),
    ("RUN pip install \\\n    --no-cache-dir -r r.txt\n", "RUN pip install \\\n    -r r.txt\n"),
    ("RUN pip install --no-cache-dir \\\n    -r r.txt\n", "RUN pip install \\\n    -r r.txt\n"),
])
def test_remove_word_layouts(before: str, after: str) -> None:
    text = "FROM x\n" + before
    start = text.index("--no-cache-dir")
    from dfmod.syntax.text import Span

    edit = remove_word(text, Span(start, start + len("--no-cache-dir")))
    assert apply_edits(text, [edit]) == "FROM x\n" + after


def test_wrap_in_group_scopes_the_tolerance_in_real_bash() -> None:
    text = "FROM x\nRUN bad a && ok b && ok c\n"
    _doc, element = _element(text, "b")
    new_text = apply_edits(text, wrap_in_group(element.span, " || true"))
    assert new_text == "FROM x\nRUN bad a && { ok b || true; } && ok c\n"
    assert _run_shell(new_text) == (1, ["a"])
    unscoped = "FROM x\nRUN bad a && ok b || true && ok c\n"
    assert _run_shell(unscoped) == (0, ["a", "c"]), "the unscoped form swallows a's failure"


def test_nothing_is_added_after_an_instruction_the_file_ends_inside() -> None:
    """`RUN … \\` as the last line: a line added after it would join the RUN (BuildKit)."""
    from dfmod.linting.edits import insert_after
    from oracle import buildkit_ranges

    open_end = Dockerfile("FROM x\nRUN pip install uvicorn \\\n")
    assert open_end.instructions[1].open_continuation
    assert insert_after(open_end, open_end.instructions[1], "ENV A=1") is None
    closed = Dockerfile("FROM x\r\nRUN pip install uvicorn")
    edit = insert_after(closed, closed.instructions[1], "ENV A=1")
    assert edit is not None
    fixed = apply_edits(closed.text, [edit])
    assert fixed == "FROM x\r\nRUN pip install uvicorn\r\nENV A=1"
    assert [name for name, _, _ in buildkit_ranges(fixed)] == ["FROM", "RUN", "ENV"]


def test_codemods_do_not_append_to_an_open_continuation() -> None:
    import dockerfile

    from dfmod.linting.engine import Settings, fix
    from dfmod.linting.registry import all_codemods

    text = ('FROM python:3.12\nRUN useradd -m -u 1000 app\nUSER app\n'
            'CMD ["uvicorn", "main:app"]\nRUN pip install uvicorn \\\n')
    outcome = fix(Dockerfile(text), Settings(list(all_codemods().values()), unsafe_fixes=True))
    # BuildKit must read the same commands: nothing glued onto the last RUN's arguments.
    assert [(c.cmd, c.value) for c in dockerfile.parse_string(outcome.text)] == [
        (c.cmd, c.value) for c in dockerfile.parse_string(text)]
