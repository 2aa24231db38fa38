"""Differential fuzzing: dfmod's lexer against BuildKit's parser on arbitrary text.

Hypothesis builds text from the pieces that make Dockerfile lexing hard (escape characters,
heredoc markers, comments, CR, quotes, directives). For every input, either both parsers
reject it, or both read the same instructions on the same lines (BuildKit may reject more:
it also validates instruction arguments); and the shell model never crashes on any RUN.
A fixed seed keeps CI deterministic; `--corpus-size` scales the run.
"""

from __future__ import annotations

import dockerfile
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from dfmod.syntax.dockerfile import Dockerfile, DockerfileSyntaxError, run_scripts

PIECES = ["FROM alpine", "RUN", "COPY", "ENV", "run", " ", "  ", "\t", "\n", "\r\n", "\\", "`",
          "# ", "#", "escape=`", "escape=\\", "syntax=x", "<<EOF", "<<-EOF", "<<'EOF'", "EOF",
          "\tEOF", "echo a", "&&", "||", ";", "'", '"', "pip install x", "--mount=type=cache",
          "[\"a\", \"b\"]", "$X", "{", "}", "(", ")", "é", "\ufeff", "<<", "<<A <<B", "A", "B"]


def _buildkit(text: str) -> list[tuple[str, int, int]] | None:
    try:
        return [((c.cmd or "").upper(), c.start_line, c.end_line) for c in dockerfile.parse_string(text)]
    except dockerfile.GoParseError:
        return None


def _dfmod(text: str) -> list[tuple[str, int, int]] | None:
    try:
        doc = Dockerfile(text)
    except DockerfileSyntaxError:
        return None
    for instruction in doc.instructions:
        run_scripts(doc, instruction)  # must not raise
    return [(i.keyword, i.start_line, i.end_line) for i in doc.instructions]


@pytest.fixture(scope="module")
def examples(request: pytest.FixtureRequest) -> int:
    return max(50, int(request.config.getoption("--corpus-size")))


def test_lexer_agrees_with_buildkit_on_arbitrary_text(examples: int) -> None:
    @seed(20261122)
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
    def check(text: str) -> None:
        text = "FROM alpine\n" + text
        if "\x00" in text:
            return
        ours, theirs = _dfmod(text), _buildkit(text)
        if theirs is not None:
            assert ours == theirs
        # BuildKit also validates arguments (`ENV` without a value, …), which a lexer need
        # not; but whatever dfmod rejects, BuildKit must reject too.
        if ours is None:
            assert theirs is None

    check()
