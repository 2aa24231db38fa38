"""The `dfmod` command line.

argparse rather than typer: dfmod runs in pre-commit hooks on every commit, and typer's
import alone costs ~80 ms (measured; see README), more than dfmod's whole check of a file.
And a plain command line (`dfmod check FILES`) is read without argparse (`_plain_args`),
from the same option definitions; argparse reads the rest and writes help and errors.

Exit codes: 0 nothing found (or nothing left after fixing); 1 findings remain, a dry run
has changes, or a file outside the project was left alone; 2 a usage or input error (after
processing every other file).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from types import SimpleNamespace

from dfmod import __version__

TYPE_CHECKING = False  # not typing's: importing typing costs ~7 ms (tests/test_startup.py)
if TYPE_CHECKING:
    import argparse
    from typing import Any, Protocol, TextIO

    from dfmod.linting.located import Located

    class Options(Protocol):
        """What a command's options are added to: its argparse parser, or a `_Recorder`."""

        def add_argument(self, *flags: str, **options: Any) -> object: ...

        def add_argument_group(self, title: str) -> Options: ...

        def add_mutually_exclusive_group(self) -> Options: ...

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
DEFAULT_TIMEOUT = 30.0  # seconds; a file takes milliseconds, 20,000 instructions under one


def _rule_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _formatter() -> type[argparse.HelpFormatter]:
    """argparse's help formatter, given the terminal width instead of asking `shutil`.

    argparse builds a formatter for every option it adds, and the default one imports
    `shutil` (and with it zlib, bz2 and lzma) for the width: milliseconds of every run, for
    help it rarely prints. The width is found as `shutil.get_terminal_size` finds it.
    """
    import argparse

    class Formatter(argparse.HelpFormatter):
        def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                     width: int | None = None) -> None:
            super().__init__(prog, indent_increment, max_help_position,
                             _terminal_columns() - 2 if width is None else width)

    return Formatter


def _terminal_columns() -> int:
    """`shutil.get_terminal_size().columns`: `$COLUMNS`, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def _parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser of `argv`, with the options of the command `argv` chooses only.

    Building every command's parser cost a one-file check several milliseconds (the whole
    check takes tens). The top-level parser has no option that takes a value, so the command
    argparse will choose is the first argument that does not start with `-`: only it gets
    its options. The others are named, with their one-line help, only where the top-level
    parser can show them (`dfmod --help`, an unknown or missing command), that is unless
    the command is the first argument: then everything after it is the command's.
    """
    import argparse

    formatter = _formatter()
    parser = argparse.ArgumentParser(
        prog="dfmod", description="Find and fix what breaks Python container builds.",
        formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"dfmod {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    alone = chosen in COMMANDS and argv[0] == chosen
    for name, (summary, options) in COMMANDS.items():
        if name == chosen:
            options(commands.add_parser(name, help=summary, formatter_class=formatter))
        elif not alone:
            commands.add_parser(name, help=summary, formatter_class=formatter)
    return parser


class _Recorder:
    """Stands for a command's parser while its options are added, and keeps them: what
    `_plain_args` reads a command line with, without building the parser."""

    def __init__(self) -> None:
        self.options: list[tuple[tuple[str, ...], dict[str, Any], int | None]] = []
        self._group: int | None = None  # the mutually exclusive group being added to

    def add_argument(self, *flags: str, **options: Any) -> None:
        self.options.append((flags, options, self._group))

    def add_argument_group(self, title: str) -> _Recorder:
        return self

    def add_mutually_exclusive_group(self) -> _Recorder:
        group = _Recorder()
        group.options = self.options
        group._group = len(self.options)
        return group


_TAKE_NO_VALUE = {"store_true": True, "store_false": False}


def _plain_args(argv: Sequence[str]) -> SimpleNamespace | None:
    """The namespace argparse would give for `argv`, when `argv` is a plain command line:
    a command first, then options written out in full (`--select X`, `--select=X`) and the
    paths in one run; None for anything else (help, errors, abbreviations, `-jN`, `--`).

    pre-commit and CI call dfmod this way on every commit, and importing argparse and
    building a command's parser took about 9 ms of a 60 ms check (gettext alone looks for
    a catalog on disk for each of argparse's strings). Anything this does not read as
    argparse would goes to argparse, which then also writes the errors and the help;
    tests/test_plain_args.py checks that both read every plain command line alike.
    """
    if not argv or argv[0] not in COMMANDS:
        return None
    recorder = _Recorder()
    COMMANDS[argv[0]][1](recorder)
    flags: dict[str, tuple[str, dict[str, Any], int | None]] = {}
    values: dict[str, Any] = {"command": argv[0]}
    positional = None
    for names, options, group in recorder.options:
        dest = options.get("dest") or next((name for name in names if name.startswith("--")),
                                           names[0]).lstrip("-").replace("-", "_")
        action = options.get("action")
        if not names[0].startswith("-"):
            if options.get("nargs") != "*" or positional is not None:
                return None  # only one list of paths is read here
            positional = dest
        elif action not in (None, "store", "extend", "append", *_TAKE_NO_VALUE):
            return None
        default = options.get("default", not _TAKE_NO_VALUE[action] if action in _TAKE_NO_VALUE else None)
        if isinstance(default, str) and "type" in options:
            default = options["type"](default)  # argparse converts a string default
        values[dest] = default
        flags.update((name, (dest, options, group)) for name in names)
    seen_groups: set[int] = set()
    paths: list[str] = []
    last_path = -1  # the index in argv of the last path read
    index = 1
    while index < len(argv):
        arg = argv[index]
        index += 1
        if not arg.startswith("-"):
            if positional is None or (paths and last_path != index - 2):
                return None  # paths in two runs: argparse rejects the second
            paths.append(arg)
            last_path = index - 1
            continue
        name, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name not in flags:
            return None
        dest, options, group = flags[name]
        if group is not None:
            if group in seen_groups:
                return None
            seen_groups.add(group)
        action = options.get("action")
        if action in _TAKE_NO_VALUE:
            if equals:
                return None
            values[dest] = _TAKE_NO_VALUE[action]
            continue
        if not equals:
            if index == len(argv) or argv[index].startswith("-"):
                return None
            value = argv[index]
            index += 1
        try:
            converted = options["type"](value) if "type" in options else value
        except Exception:  # argparse reports it, in its words
            return None
        if "choices" in options and converted not in options["choices"]:
            return None
        if action == "extend":
            values[dest] = [*(values[dest] or []), *converted]
        elif action == "append":
            values[dest] = [*(values[dest] or []), converted]
        else:
            values[dest] = converted
    if paths and positional is not None:
        values[positional] = paths
    return SimpleNamespace(**values)


def _selection(sub: Options, paths_help: str) -> None:
    """What every command that runs codemods accepts: paths, rule choice, config."""
    from dfmod.syntax.project import DEFAULT_MAX_FILE_SIZE

    sub.add_argument("paths", nargs="*", default=["."], metavar="PATH", help=paths_help)
    sub.add_argument("--select", type=_rule_list, action="extend", metavar="IDS",
                     help="only these codemods (comma separated)")
    sub.add_argument("--ignore", type=_rule_list, action="extend", metavar="IDS",
                     help="skip these codemods (comma separated)")
    sub.add_argument("--unsafe-fixes", action="store_true",
                     help="also apply fixes that change behaviour")
    sub.add_argument("--config", metavar="FILE",
                     help="use this dfmod.toml / pyproject.toml for every file")
    sub.add_argument("--max-file-size", type=_size, default=DEFAULT_MAX_FILE_SIZE,
                     metavar="SIZE", help="refuse to read larger files (bytes, or with "
                     f"KB/MB; default: {DEFAULT_MAX_FILE_SIZE // 1024 ** 2}MB)")
    sub.add_argument("--timeout-per-file", type=_seconds, default=DEFAULT_TIMEOUT,
                     metavar="SECONDS", help="stop working on a file after this long and "
                     f"report it (default: {DEFAULT_TIMEOUT:g}; 0: no limit)")


def _common(sub: Options) -> None:
    """The options of the commands that run over files: `check`, `apply`, `verify`."""
    _selection(sub, "files or directories (default: .)")
    sub.add_argument("--jobs", "-j", type=int, default=0, metavar="N",
                     help="parallel processes (default: one per CPU)")
    sub.add_argument("--shard", type=_shard, metavar="I/N|auto",
                     help="process only shard I of N (a stable split of the files); auto: "
                          "the shard the CI engine or Kubernetes Job assigns")
    sub.add_argument("--stdin-filename", metavar="NAME",
                     help="read the file from stdin, as if it were NAME (for editors); "
                          "with --fix the fixed text goes to stdout")
    sub.add_argument("--context", metavar="DIR",
                     help="the build context of the Dockerfiles (as `docker build -f X DIR`)")
    sub.add_argument("--no-respect-gitignore", dest="respect_gitignore",
                     action="store_false", help="also walk what .gitignore files exclude")
    sub.add_argument("--verbose", "-v", action="store_true",
                     help="also say which candidate files were skipped, and why")


def _check_options(check: Options) -> None:
    _common(check)
    reporting(check, CHECK_FORMATS, "how findings are shown (default: full on a terminal, else concise)")
    check.add_argument("--statistics", action="store_true",
                       help="count the findings per rule, with how many are fixable, instead of listing them")
    check.add_argument("--repo", metavar="NAME",
                       help="name the repository in each --format json-lines record (e.g. org/name)")
    check.add_argument("--show-files", action="store_true",
                       help="list the files a run would cover, with kind and build context")
    check.add_argument("--add-ignore", action="store_true",
                       help="write a `# dfmod: ignore[…]` comment above each instruction or "
                            "compose key with findings (to adopt dfmod before fixing them)")
    check.add_argument("--baseline", metavar="FILE",
                       help="report only findings not recorded in FILE (see --write-baseline)")
    check.add_argument("--write-baseline", metavar="FILE",
                       help="record the current findings in FILE and report none")


def _apply_options(apply: Options) -> None:
    _common(apply)
    mode = apply.add_mutually_exclusive_group()
    mode.add_argument("--fix", action="store_true", help="write the fixes in place")
    mode.add_argument("--patch", metavar="FILE", help="write the diff to FILE")
    reporting(apply, HUMAN_FORMATS, "how --fix shows the findings it leaves, on stderr "
              "(default: full on a terminal, else concise)")
    apply.add_argument("--exit-non-zero-on-fix", action="store_true",
                       help="with --fix: exit 1 if anything was fixed, even if no finding is left")
    verify_options(apply, flag=True)


def _verify_options(verify: Options) -> None:
    _common(verify)
    verify.add_argument("--output-format", "--format", dest="format", choices=[*VERIFY_FORMATS, *ALIASES],
                        default="concise", metavar="FORMAT", help=f"{', '.join(VERIFY_FORMATS)} "
                        "(text: concise); default: concise")
    exit_options(verify, "even if a fix is not proven")
    verify_options(verify, flag=False)


def _pr_options(pr: Options) -> None:
    _selection(pr, "files or directories inside the repository (default: .)")
    pr.add_argument("--repo", default=".", metavar="DIR", help="the git repository (default: .)")
    pr.add_argument("--base", metavar="BRANCH", help="base branch (default: the current branch)")
    pr.add_argument("--branch", default="dfmod/fixes", metavar="NAME", help="branch to create or update")
    pr.add_argument("--squash", action="store_true", help="one commit instead of one per codemod")
    pr.add_argument("--author", metavar="'NAME <EMAIL>'", help="commit author")
    pr.add_argument("--push", metavar="REMOTE", help="push the branch to REMOTE")
    pr.add_argument("--open", action="store_true",
                    help="open the pull request with `gh`, or update the open one (needs gh)")
    pr.add_argument("--body-file", metavar="FILE", help="where to write the PR body")
    pr.add_argument("--format", choices=["text", "json"], default="text",
                    help="text or json: branch, commits, files, body file and the gh command")
    pr.add_argument("--jobs", "-j", type=int, default=0, metavar="N",
                    help="with --verify: files built in parallel (default: up to 4)")
    verify_options(pr, flag=True)


def _merge_options(merge: Options) -> None:
    merge.add_argument("files", nargs="+", metavar="FILE")


def _no_options(sub: Options) -> None:
    """`rules` takes no argument."""


def _explain_options(explain: Options) -> None:
    explain.add_argument("rule", metavar="ID")


# Each command: its one-line help (`dfmod --help`) and what adds its options.
COMMANDS: dict[str, tuple[str, Callable[[Options], None]]] = {
    "check": ("report findings", _check_options),
    "apply": ("show fixes as a diff, or write them", _apply_options),
    "verify": ("build each changed Dockerfile before and after the fixes with your "
               "Docker/BuildKit and give each fix a verdict", _verify_options),
    "pr": ("commit the fixes on a branch and write a pull-request body", _pr_options),
    "merge-sarif": ("combine the SARIF logs of a sweep's shards into one log with one run "
                    "(for one code scanning upload)", _merge_options),
    "rules": ("list the codemods", _no_options),
    "explain": ("show a codemod's documentation", _explain_options),
}

CHECK_FORMATS = ("concise", "full", "json", "json-lines", "sarif", "github", "gitlab", "junit")
HUMAN_FORMATS = ("concise", "full")  # what `apply --fix` writes to stderr
VERIFY_FORMATS = ("concise", "json", "json-lines", "sarif", "github", "junit")
ALIASES = {"text": "concise"}  # the name before --output-format had `full`


def reporting(sub: Options, formats: tuple[str, ...], what: str) -> None:
    """The output options of `check` and `apply` (ruff's names)."""
    sub.add_argument("--output-format", "--format", dest="format", choices=[*formats, *ALIASES],
                     metavar="FORMAT", help=f"{', '.join(formats)} (text: concise); {what}")
    sub.add_argument("--show-fixes", action="store_true",
                     help="with --output-format full: show each fix as the lines it changes")
    exit_options(sub, "even if findings remain")


def exit_options(sub: Options, zero_when: str) -> None:
    """`--exit-zero` and `-q/--quiet`, for `check`, `apply` and `verify` alike."""
    sub.add_argument("--exit-zero", action="store_true", help=f"exit 0 {zero_when} (errors still exit 2)")
    sub.add_argument("--quiet", "-q", action="store_true",
                     help="no summary line: only the results and errors")


def verify_options(sub: Options, flag: bool) -> None:
    """What `dfmod verify` (and `--verify` on `apply --fix` and `pr`) passes to the builds."""
    if flag:
        sub.add_argument("--verify", action="store_true",
                         help="build each changed Dockerfile before and after the fixes (Docker "
                              "with BuildKit); a fix that breaks the build is not applied")
    group = sub.add_argument_group("verification (dfmod verify, --verify)")
    group.add_argument("--builder", metavar="NAME", help="the buildx builder to use")
    group.add_argument("--build-arg", action="append", metavar="KEY=VALUE", help="passed to every build")
    group.add_argument("--target", metavar="STAGE", help="the stage to build (default: the last, "
                       "or a compose service's build.target)")
    group.add_argument("--platform", metavar="PLATFORM", help="passed to builds and probe containers")
    group.add_argument("--network", metavar="MODE", help="the builds' RUN network (e.g. host)")
    group.add_argument("--smoke", action="append", metavar="CMD",
                       help="also run `sh -c CMD` in the images before and after (repeatable)")
    group.add_argument("--no-probes", action="store_true", help="build only; run no probe")
    group.add_argument("--keep-images", action="store_true",
                       help="keep the dfmod-verify/ images (default: removed at the end)")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _plain_args(argv) or SimpleNamespace(**vars(_parser(argv).parse_args(argv)))
    try:
        if args.command == "rules":
            return _rules()
        if args.command == "explain":
            return _explain(args.rule)
        if args.command == "merge-sarif":
            return _merge_sarif(args.files)
        _fewer_collections()
        if args.command == "pr":
            from dfmod import pr

            return pr.run(args)
        from dfmod.syntax.project import Project, active

        # Reads and writes stay inside the trees given (dfmod.syntax.project).
        with active(Project.of([args.stdin_filename] if args.stdin_filename else args.paths,
                               args.max_file_size)):
            return _run(args)
    except BrokenPipeError:
        # The reader went away (`dfmod apply | head`): stop quietly, as Python's docs advise,
        # pointing stdout at /dev/null so the interpreter's final flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def entry() -> int:
    """The `dfmod` program (`[project.scripts]`, `python -m dfmod`): `main`, then every object
    of the run moved out of the garbage collector's sight as the process ends.

    Python's exit runs the cyclic collector over everything still alive (the modules, the
    documents, the codemods) only to free memory the operating system takes back anyway:
    5-6 ms of a one-file check, more than the check itself (measured with `bench/run.py`).
    `gc.freeze()` leaves those objects to the OS, while the rest of the exit still happens:
    atexit handlers, `weakref.finalize` callbacks (temporary directories), the flush of
    stdout and stderr. Files dfmod writes are closed where they are written. Not in `main`,
    which tests call in a process that goes on.
    """
    code = main()
    import gc

    gc.freeze()
    return code


def _fewer_collections() -> None:
    """Run the cyclic garbage collector less often: the command line processes files.

    A file builds many small objects (instructions, spans, shell nodes) that all live until
    it is done; with Python's default thresholds the collector walks them again and again,
    which doubled the time of a 20,000-instruction file (measured). Collecting after 50,000
    allocations instead of 700, and a full collection a tenth as often, keeps the cost
    linear; mypy tunes its collector the same way. Worker processes inherit it. (Not undone
    afterwards: lowering the thresholds again would start a collection of everything.)
    """
    import gc

    gc.set_threshold(50_000, 20, 100)


def _error(message: str) -> None:
    sys.stderr.write(f"dfmod: error: {message}\n")


def _rules() -> int:
    from dfmod.linting.registry import all_codemods

    width = max(len(rule) for rule in all_codemods())
    for rule, codemod in all_codemods().items():
        sys.stdout.write(f"{rule:<{width}}  {codemod.applicability.value:<12}  {codemod.summary}\n")
    return EXIT_CLEAN


def _explain(rule: str) -> int:
    from dfmod.linting.registry import all_codemods

    codemod = all_codemods().get(rule)
    if codemod is None:
        _error(f"unknown codemod '{rule}' (see `dfmod rules`)")
        return EXIT_ERROR
    sys.stdout.write(f"# {rule}\n\n{codemod.documentation()}\n")
    return EXIT_CLEAN


def _merge_sarif(files: list[str]) -> int:
    from dfmod.output.sarifmerge import MergeError, merge_files

    try:
        text = merge_files(files)
    except MergeError as error:
        _error(str(error))
        return EXIT_ERROR
    sys.stdout.write(text)
    return EXIT_CLEAN


def _type_error(message: str) -> Exception:
    """The error an option's type raises for argparse to report (argparse is imported only
    when a command line needs it: `_plain_args`)."""
    import argparse

    return argparse.ArgumentTypeError(message)


def _size(value: str) -> int:
    """`4194304`, `512KB`, `4MB` (binary multiples, as file sizes are usually shown)."""
    text = value.strip().upper().removesuffix("B")
    factor = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3}.get(text[-1:], 1)
    number = text[:-1] if factor > 1 else text
    if not number.isdigit() or int(number) == 0:
        raise _type_error(f"expected a size such as 4MB, got {value!r}")
    return int(number) * factor


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise _type_error(f"expected a number of seconds, got {value!r}")
    return seconds


def _shard(value: str) -> object:
    """`--shard`: `I/N` or `auto` (dfmod.workspace.shard, imported only when given)."""
    from dfmod.workspace.shard import ShardError, parse

    try:
        return parse(value)
    except ShardError as error:
        raise _type_error(str(error)) from None


def _write(stream: TextIO, text: str, colour: Callable[[str], str] | None = None) -> None:
    """Write a report, coloured only for a terminal (NO_COLOR / FORCE_COLOR respected)."""
    if colour is not None and text:
        from dfmod.output import formats

        if formats.use_colour(stream):
            text = colour(text)
    stream.write(text)


def _colour(name: str) -> Callable[[str], str]:
    def apply(text: str) -> str:
        from dfmod.output import formats

        return getattr(formats, name)(text)  # type: ignore[no-any-return]

    return apply


def _write_baseline(path: str, recorded: list[Located], roots: tuple[str, ...] | None,
                    files: int, failed: bool) -> int:
    from dfmod.syntax.source import InputError
    from dfmod.workspace import baseline

    try:
        baseline.write(path, recorded, roots)
    except InputError as error:
        _error(str(error))
        return EXIT_ERROR
    sys.stdout.write(f"Wrote {len(recorded)} finding{'s' if len(recorded) != 1 else ''} "
                     f"in {files} file{'s' if files != 1 else ''} to {path}.\n")
    return EXIT_ERROR if failed else EXIT_CLEAN


def _output_format(args: SimpleNamespace) -> str:
    """The format asked for, its alias resolved; by default `full` where a person reads
    the findings (stdout for `check`, stderr for `apply --fix`) on a terminal, else the
    one line per finding that logs and scripts expect."""
    chosen = getattr(args, "format", None)
    if chosen is not None:
        return ALIASES.get(chosen, chosen)
    stream = sys.stdout if args.command == "check" else sys.stderr
    try:
        return "full" if stream.isatty() else "concise"
    except (ValueError, OSError):  # a closed or detached stream
        return "concise"


def _run(args: SimpleNamespace) -> int:
    from dfmod.linting.registry import check_rules, select_codemods
    from dfmod.output.report import (
        JsonLines,
        JsonStream,
        Tally,
        ignores_report,
        ignores_summary,
        statistics_report,
        summary,
        text_report,
    )
    from dfmod.syntax.project import Project
    from dfmod.syntax.source import InputError
    from dfmod.workspace.config import ConfigError, Overrides, config_for, settings_for
    from dfmod.workspace.discovery import Discovery, Found, discover, display_path
    from dfmod.workspace.kinds import classify
    from dfmod.workspace.runner import FileResult, process_text, run
    from dfmod.workspace.targets import plan

    args.format = _output_format(args)
    overrides = Overrides(select=tuple(args.select) if args.select else None,
                          ignore=tuple(args.ignore or ()), unsafe_fixes=args.unsafe_fixes,
                          config_file=args.config)

    def configured(path: str) -> tuple[str, str] | None:
        config = config_for(path, overrides)
        directory = config.context_for(path)
        return None if directory is None else (directory, f"`context` in {display_path(config.path or '')}")

    try:
        check_rules(args.select, args.ignore)  # the codemods load as files need them
        if getattr(args, "repo", None) is not None and args.format != "json-lines":
            raise InputError("--repo", "names the repository in --format json-lines records only")
        if getattr(args, "add_ignore", False) and args.stdin_filename:
            raise InputError("--add-ignore", "writes files on disk: not with --stdin-filename")
        if getattr(args, "add_ignore", False) and (args.baseline or args.write_baseline):
            raise InputError("--add-ignore", "comments and a baseline are alternatives: pick one")
        shard = None
        if args.shard is not None and not args.stdin_filename:
            from dfmod.workspace.shard import AUTO, ShardError, resolve  # loaded by --shard's type

            try:
                shard = resolve(args.shard, os.environ)
            except ShardError as error:
                _error(str(error))
                return EXIT_ERROR
        roots = Project.of(args.paths).roots  # what shards and json-lines paths are keyed by
        if args.context is not None and not os.path.isdir(args.context):
            raise InputError(args.context, "--context: no such directory")
        if args.stdin_filename:
            settings_for(args.stdin_filename, overrides)  # validate before reading stdin
            text = sys.stdin.read()
            kind = classify(args.stdin_filename, text)
            found = Discovery([Found(args.stdin_filename, kind, named=True)])
        else:
            found = discover(args.paths, respect_gitignore=args.respect_gitignore,
                             excluded=lambda path: config_for(path, overrides).excludes(path))
        targets = [target for target in plan(found, args.context, configured)
                   if shard is None or shard.holds(target.path, roots)]
        baseline = None
        if getattr(args, "baseline", None):
            from dfmod.workspace.baseline import Baseline

            baseline = Baseline.load(args.baseline, roots)
    except KeyError as error:
        _error(f"unknown codemod id: {error.args[0]} (see `dfmod rules`)")
        return EXIT_ERROR
    except (ConfigError, InputError) as error:
        _error(str(error))
        return EXIT_ERROR
    if shard is not None and args.shard == AUTO:  # say what was taken from the environment
        sys.stderr.write(f"dfmod: shard {shard} ({shard.source}): {len(targets)} "
                         f"file{'s' if len(targets) != 1 else ''}\n")
    if args.verbose:
        for item in found.skipped:
            sys.stderr.write(f"dfmod: skipped {display_path(item.path)}: {item.reason}\n")
    if getattr(args, "show_files", False):
        from dfmod.workspace.showfiles import show_files

        sys.stdout.write(show_files(targets))
        return EXIT_CLEAN
    if args.command == "verify" or getattr(args, "verify", False):
        if args.command == "apply" and not args.fix:
            _error("--verify needs --fix (`dfmod verify` verifies without writing)")
            return EXIT_ERROR
        if args.stdin_filename:
            _error("verification builds files on disk: --stdin-filename is not supported")
            return EXIT_ERROR
        from dfmod.verify import run_cli  # imported only when asked for

        return run_cli(args, targets, overrides, select_codemods(args.select, args.ignore))
    mode = ("ignore" if args.add_ignore else "check") if args.command == "check" else (
        "fix" if args.fix else "diff")
    jobs = args.jobs if args.jobs else (os.cpu_count() or 1)
    paths = [target.path for target in targets]
    if args.stdin_filename:
        results: Iterable[FileResult] = [process_text(
            targets[0], text, overrides, "diff" if mode == "fix" else mode, args.timeout_per_file)]
    else:
        results = run(targets, overrides, mode, jobs=jobs, budget=args.timeout_per_file)
    failed = outside = False
    tally = Tally()
    located: list[Located] = []  # kept only for the formats that need every finding at once
    fixed = files = comments = commented = 0
    changed = False
    fmt = "statistics" if getattr(args, "statistics", False) else args.format
    # The formats that describe the rules load them all; the others only the rules files need.
    codemods = select_codemods(args.select, args.ignore) if fmt in (
        "junit", "full", "gitlab", "sarif", "github") else []
    stream: JsonStream | JsonLines | None = None
    if mode == "check" and fmt == "json":
        stream = JsonStream(sys.stdout.write)
    elif mode == "check" and fmt == "json-lines":
        stream = JsonLines(sys.stdout.write, args.repo, roots)
    elif mode == "check" and fmt == "junit":
        from dfmod.output.junit import Junit  # each format imported only when chosen

        junit = Junit(codemods)
    if fmt == "full":
        from dfmod.output import formats
        from dfmod.output.full import Full

        full = Full(codemods, args.show_fixes,
                    colour=formats.use_colour(sys.stdout if mode == "check" else sys.stderr))
    patch_file: TextIO | None = None
    if mode == "diff" and args.patch:
        try:
            patch_file = open(args.patch, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as error:
            _error(f"{args.patch}: cannot write patch: {error.strerror}")
            return EXIT_ERROR
    recorded: list[Located] | None = [] if getattr(args, "write_baseline", None) else None
    progress = sys.stderr.isatty() and len(paths) > 200
    for result in results:
        files += 1
        if progress and files % 50 == 0:
            sys.stderr.write(f"\r{files}/{len(paths)} files")
        if result.error:
            _error(result.error)
            failed = True
            continue
        if result.outside:
            sys.stderr.write(f"dfmod: warning: {result.outside}\n")
            outside = True
            continue
        if recorded is not None:
            recorded.extend(result.findings)
            continue
        if baseline is not None:
            result.findings = baseline.new(result.findings)
        tally.add(result.findings)
        fixed += result.applied if result.changed else 0
        changed = changed or result.changed
        if stream is not None:
            stream.add(result.findings)
        elif mode == "check" and fmt in ("sarif", "github", "gitlab"):
            located.extend(result.findings)
        elif mode == "check" and fmt == "junit":
            junit.add(result.path, result.findings)
        elif mode in ("check", "fix") and fmt == "full":
            checked = result.before if mode == "check" else result.after  # what the findings are in
            (sys.stdout if mode == "check" else sys.stderr).write(full.render(result.findings, checked))
        elif mode == "check" and fmt == "concise":
            _write(sys.stdout, text_report(result.findings), _colour("colour_findings"))
        elif mode == "ignore":
            comments, commented = comments + result.comments, commented + bool(result.comments)
            _write(sys.stdout, ignores_report(result.path, result.comments)
                   + text_report(result.findings), _colour("colour_findings"))
        elif mode == "fix":
            _write(sys.stderr, text_report(result.findings), _colour("colour_findings"))
        if mode == "diff" and result.changed:
            from dfmod.output.diff import unified_diff

            assert result.before is not None and result.after is not None
            diff = unified_diff(result.path, result.before, result.after)
            if patch_file is not None:
                patch_file.write(diff)
            else:
                _write(sys.stdout, diff, _colour("colour_diff"))
        if args.stdin_filename and mode == "fix":
            sys.stdout.write(result.after if result.after is not None else result.before or "")
    if progress:
        sys.stderr.write("\r\x1b[K")
    if recorded is not None:
        return _write_baseline(args.write_baseline, recorded, roots, files, failed)
    if patch_file is not None:
        patch_file.close()
    if stream is not None:
        stream.close()
    elif mode == "check" and fmt == "gitlab":
        from dfmod.output.codequality import code_quality  # each format imported only when chosen

        sys.stdout.write(code_quality(located, codemods))
    elif mode == "check" and fmt in ("sarif", "github"):
        from dfmod.output import formats

        sys.stdout.write(formats.render(fmt, located, codemods))
    elif mode == "check" and fmt == "junit":
        sys.stdout.write(junit.close())
    elif mode == "check" and fmt == "statistics":
        sys.stdout.write(statistics_report(tally, as_json=args.format == "json"))
    machine = fmt not in ("concise", "full", "statistics") or args.format == "json"
    if args.quiet or mode == "diff" or (mode == "check" and machine):
        pass  # no summary line: a machine format is the whole of stdout
    elif mode in ("check", "ignore") and tally.total:
        _write(sys.stdout, (ignores_summary(comments, commented) + "\n" if comments else "")
               + summary(tally, files) + "\n", _colour("colour_findings"))
    elif mode == "ignore" and comments:
        sys.stdout.write(ignores_summary(comments, commented) + "\n")
    elif mode in ("check", "ignore") and not failed and not outside:
        sys.stdout.write(f"No findings in {files} file{'s' if files != 1 else ''}.\n")
    elif mode == "fix" and (tally.total or fixed):
        _write(sys.stderr, summary(tally, files, fixed) + "\n", _colour("colour_findings"))
    if mode == "diff":
        status = EXIT_FINDINGS if changed or tally.total or outside else EXIT_CLEAN
    else:
        status = EXIT_FINDINGS if tally.total or outside else EXIT_CLEAN
    if failed:
        return EXIT_ERROR
    if getattr(args, "exit_non_zero_on_fix", False) and fixed:
        return EXIT_FINDINGS
    return EXIT_CLEAN if args.exit_zero else status


if __name__ == "__main__":
    sys.exit(main())
