"""`dfmod.cli._plain_args` reads a plain command line as argparse does, or leaves it to argparse.

The check path parses `dfmod check FILES` without building an argparse parser (start-up,
issue #15). Its only claim is equality: for every command line it reads, the namespace is
the one argparse gives, and anything argparse would reject or read otherwise it does not
read at all. Both are tested on command lines built from every command's own options.
"""

from __future__ import annotations

import contextlib
import io
import random
from types import SimpleNamespace

import pytest

from dfmod import cli

# A valid value (as written) for each option that takes one, by its type or choices.
_VALUES = {cli._rule_list: ["verify-imports", "a,b", ""], cli._size: ["4MB", "12", "1k"],
           cli._seconds: ["0", "1.5"], int: ["3", "0"], cli._shard: ["1/2", "2/2"]}
_WRONG = {cli._size: ["0", "x"], cli._seconds: ["-1", "inf", "x"], int: ["x", "1.5"], cli._shard: ["3/2", "x"]}


def _argparse(argv: list[str]) -> SimpleNamespace | None:
    """What argparse reads from `argv`; None where it stops with an error or help."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            return SimpleNamespace(**vars(cli._parser(argv).parse_args(argv)))
        except SystemExit:
            return None


def _options(command: str) -> list[tuple[tuple[str, ...], dict[str, object]]]:
    recorder = cli._Recorder()
    cli.COMMANDS[command][1](recorder)
    return [(names, options) for names, options, _ in recorder.options if names[0].startswith("-")]


def _words(rng: random.Random, names: tuple[str, ...], options: dict[str, object], wrong: bool) -> list[str]:
    name = rng.choice(names)
    if options.get("action") in ("store_true", "store_false"):
        return [name] if not wrong else [f"{name}=1"]
    choices = options.get("choices")
    kind = options.get("type")
    values = list(choices) if choices else _VALUES.get(kind, ["x", "some path"])  # type: ignore[call-overload,arg-type]
    if wrong:
        values = (_WRONG.get(kind) or ["nope"]) if kind or choices else ["-x"]  # type: ignore[call-overload,arg-type]
    value = rng.choice(values)
    return [f"{name}={value}"] if name.startswith("--") and rng.random() < 0.3 else [name, value]


def _command_lines(command: str, count: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    options = _options(command)
    odd = ["--", "-", "-h", "--help", "--sel", "-j4", "-qv", "--nope", "-1"]
    lines = []
    for _ in range(count):
        words: list[str] = []
        for _ in range(rng.randint(0, 4) if options else 0):
            words += _words(rng, *rng.choice(options), wrong=rng.random() < 0.1)
        paths = [rng.choice(["Dockerfile", "a/b", "x y", "compose.yaml", "=", ""]) for _ in range(rng.randint(0, 3))]
        at = rng.randint(0, len(words))
        words[at:at] = paths
        if rng.random() < 0.1:
            words.insert(rng.randint(0, len(words)), rng.choice(odd))
        if rng.random() < 0.05 and paths:
            words.append(paths[0])  # paths in two runs
        lines.append([command, *words])
    return lines


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_command_line_it_reads_reads_as_argparse_does(command: str) -> None:
    read = 0
    for argv in _command_lines(command, 600, seed=len(command)):
        plain = cli._plain_args(argv)
        if plain is not None:
            read += 1
            assert plain == _argparse(argv), argv
    if command in ("check", "apply", "verify"):
        assert read > 200  # the plain path is taken for most of them, not left to argparse


@pytest.mark.parametrize("argv", [
    ["check", "Dockerfile"], ["check"], ["check", "a", "b", "--output-format", "concise"],
    ["check", "--select=verify-imports,masked-failure", "--quiet", "."],
    ["apply", "--fix", "--unsafe-fixes", "Dockerfile"], ["check", "--jobs", "2", "--format", "text", "x"],
    ["rules"],
])
def test_the_command_lines_hooks_and_ci_write_are_read_without_argparse(argv: list[str]) -> None:
    plain = cli._plain_args(argv)
    assert plain is not None
    assert plain == _argparse(argv)


@pytest.mark.parametrize("argv", [
    [], ["--version"], ["check", "--help"], ["check", "--sel", "x"], ["check", "-j4"],
    ["check", "a", "--quiet", "b"], ["check", "--jobs", "x"], ["check", "--max-file-size", "0"],
    ["apply", "--fix", "--patch", "p"], ["check", "--", "-weird"], ["explain", "verify-imports"],
    ["check", "--output-format", "nope"], ["check", "--quiet=1"], ["check", "--select"],
])
def test_what_argparse_must_read_or_reject_is_left_to_it(argv: list[str]) -> None:
    assert cli._plain_args(argv) is None
