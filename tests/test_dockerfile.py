"""The lexer reads files exactly as BuildKit does, and keeps every span exact."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dfmod.syntax.dockerfile import Dockerfile, DockerfileSyntaxError, _json_array, env_pairs
from oracle import assert_agrees_with_buildkit, buildkit_ranges

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "tests" / "fixtures" / "dockerfiles").iterdir())
ALL_FILES = FIXTURES + sorted(ROOT.glob("golden/*/*/input/**/*Dockerfile*")) + sorted(
    ROOT.glob("examples/**/Dockerfile"))


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("path", ALL_FILES, ids=[str(p.relative_to(ROOT)) for p in ALL_FILES])
def test_instruction_ranges_agree_with_buildkit(path: Path) -> None:
    assert_agrees_with_buildkit(_text(path))


@pytest.mark.parametrize("path", ALL_FILES, ids=[str(p.relative_to(ROOT)) for p in ALL_FILES])
def test_spans_are_exact(path: Path) -> None:
    text = _text(path)
    doc = Dockerfile(text)
    assert doc.text == text
    for item in doc.instructions:
        assert text[item.keyword_span.start:item.keyword_span.end].upper() == item.keyword
        for flag in item.flags:
            raw = text[flag.span.start:flag.span.end]
            assert raw.startswith("--" + flag.name)
        for heredoc in item.heredocs:
            assert text[heredoc.terminator.start:heredoc.terminator.end].lstrip("\t") == heredoc.name
        # every character of the joined line comes from the original at its offset
        for index, char in enumerate(item.logical.text):
            assert text[item.logical.offset(index)] == char


def test_continuations_comments_and_empty_lines() -> None:
    text = (ROOT / "tests/fixtures/dockerfiles/continuation-comments").read_text()
    run = Dockerfile(text).instructions[1]
    assert run.args.text.split() == ["apk", "add", "--no-cache", "curl", "git", "bash"]
    assert [c.text for c in Dockerfile(text).comments] == ["a comment inside", "indented comment"]
    assert all(c.inside_instruction for c in Dockerfile(text).comments)


def test_escape_directive_changes_continuation() -> None:
    doc = Dockerfile((ROOT / "tests/fixtures/dockerfiles/escape-backtick").read_text())
    assert doc.escape == "`"
    assert doc.instructions[1].args.text == "echo a     && echo b"
    assert doc.instructions[2].args.text == "C:\\path\\file C:\\dest\\"


def test_directives_stop_at_first_other_line() -> None:
    doc = Dockerfile((ROOT / "tests/fixtures/dockerfiles/directives").read_text())
    assert [(d.name, d.value) for d in doc.directives] == [
        ("syntax", "docker/dockerfile:1.7"), ("check", "skip=UndefinedVar"), ("escape", "\\")]
    assert doc.comments[0].text == "not a directive: escape=`"


def test_heredocs_of_every_form() -> None:
    text = (ROOT / "tests/fixtures/dockerfiles/heredocs").read_text()
    doc = Dockerfile(text)
    runs = [item for item in doc.instructions if item.heredocs]
    names = [[(h.name, h.chomp, h.expand, h.fd) for h in item.heredocs] for item in runs]
    assert names == [
        [("EOF", False, True, None)],
        [("EOT", True, False, None)],
        [("A", False, True, None), ("B", False, False, None)],
        [("PY", False, True, None)],
        [("EOF", False, True, 3)],
    ]
    copy = runs[2]
    assert [text[h.body.start:h.body.end] for h in copy.heredocs] == ["first\n", "second $NOT\n"]


def test_mount_fields_have_exact_spans() -> None:
    text = "FROM x\nRUN --mount=type=cache,id=pip,target=/root/.cache/pip,uid=1000 pip install x\n"
    run = Dockerfile(text).instructions[1]
    (mount,) = run.mounts
    assert (mount.type, mount.target) == ("cache", "/root/.cache/pip")
    assert [text[f.span.start:f.span.end] for f in mount.fields] == [
        "type=cache", "id=pip", "target=/root/.cache/pip", "uid=1000"]
    assert run.args.text == "pip install x"


def test_stages_and_env() -> None:
    text = ("FROM python:3.11 AS build\nENV A=1 B=\"two words\"\nENV LEGACY some value\n"
            "FROM build AS final\nARG V\n")
    doc = Dockerfile(text)
    assert [(s.name, s.base) for s in doc.stages] == [("build", "python:3.11"), ("final", "build")]
    pairs = env_pairs(doc.instructions[1])
    assert [(p.name, p.value) for p in pairs] == [("A", "1"), ("B", "two words")]
    assert text[pairs[1].value_span.start:pairs[1].value_span.end] == '"two words"'
    legacy = env_pairs(doc.instructions[2])
    assert [(p.name, p.value) for p in legacy] == [("LEGACY", "some value")]
    assert doc.stage_named("BUILD") is doc.stages[0]


@pytest.mark.parametrize("text", [
    "",
    "# only a comment\n",
    "FROM x\nRUN <<EOF\necho never ends\n",
    "# escape=x\nFROM x\n",
    "# escape=`\n# escape=\\\nFROM x\n",
])
def test_rejects_what_buildkit_rejects(text: str) -> None:
    with pytest.raises(DockerfileSyntaxError):
        Dockerfile(text)
    with pytest.raises(Exception):  # noqa: B017 - the oracle raises its own error type
        buildkit_ranges(text)


def _json_array_by_json(args: str) -> list[str] | None:
    """What the exec-form reader replaced: the json module's decoder, then a type check."""
    import json

    text = args.lstrip("\t\n\v\f\r \x85\xa0")
    if not text.startswith("["):
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except ValueError:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return None
    return value


@pytest.mark.parametrize("args", [
    '["python", "-m", "app"]', '[]', '[ ]', ' \t["a"] trailing', '["a",]', '["a" "b"]', '["a",1]',
    '[["a"]]', '["a\\u00e9\\ud83d\\ude00", "\\n\\t\\"\\\\\\/"]', '["\\ud800"]', '["a', '["a\x01"]',
    '[\n "a" ,\r\n "b"\n]', '["\\x"]', '[null]', '{"a": 1}', 'python -m app', '[', '["a"],',
    '["a"]]', '[,"a"]', '[ "a" , ]', '["\\u12"]', '["é", "日本"]',
])
def test_exec_form_reads_as_json_did(args: str) -> None:
    assert _json_array(args) == _json_array_by_json(args)


@given(st.lists(st.sampled_from(['[', ']', '"', ',', ' ', '\n', '\\', 'u', '0', 'd8', 'a', 'é',
                                 '\x01', '1', '{', '}', 'n', '\\"', '"a"', '\t']), max_size=14))
def test_exec_form_reads_as_json_did_on_any_text(parts: list[str]) -> None:
    args = "[" + "".join(parts)
    assert _json_array(args) == _json_array_by_json(args)
