"""The `dfmod` command line.

argparse rather than typer: dfmod runs in pre-commit hooks on every commit, and typer's
import alone costs ~80 ms (measured; see README), more than dfmod's whole check of a file.

Exit codes: 0 nothing found (or nothing left after fixing); 1 findings remain, or a dry run
has changes; 2 a usage or input error (after processing every other file).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dfmod import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _rule_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dfmod", description="Find and fix what breaks Python container builds.")
    parser.add_argument("--version", action="version", version=f"dfmod {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("paths", nargs="*", default=["."], metavar="PATH",
                         help="files or directories (default: .)")
        sub.add_argument("--select", type=_rule_list, action="extend", metavar="IDS",
                         help="only these codemods (comma separated)")
        sub.add_argument("--ignore", type=_rule_list, action="extend", metavar="IDS",
                         help="skip these codemods (comma separated)")
        sub.add_argument("--unsafe-fixes", action="store_true",
                         help="also apply fixes that change behaviour")

    check = commands.add_parser("check", help="report findings")
    common(check)
    check.add_argument("--format", choices=["text", "json"], default="text")

    apply = commands.add_parser("apply", help="show fixes as a diff, or write them")
    common(apply)
    mode = apply.add_mutually_exclusive_group()
    mode.add_argument("--fix", action="store_true", help="write the fixes in place")
    mode.add_argument("--patch", metavar="FILE", help="write the diff to FILE")

    commands.add_parser("rules", help="list the codemods")
    explain = commands.add_parser("explain", help="show a codemod's documentation")
    explain.add_argument("rule", metavar="ID")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "rules":
            return _rules()
        if args.command == "explain":
            return _explain(args.rule)
        return _run(args)
    except BrokenPipeError:
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _error(message: str) -> None:
    sys.stderr.write(f"dfmod: error: {message}\n")


def _rules() -> int:
    from dfmod.registry import all_codemods

    width = max(len(rule) for rule in all_codemods())
    for rule, codemod in all_codemods().items():
        sys.stdout.write(f"{rule:<{width}}  {codemod.applicability.value:<12}  {codemod.summary}\n")
    return EXIT_CLEAN


def _explain(rule: str) -> int:
    from dfmod.registry import all_codemods

    codemod = all_codemods().get(rule)
    if codemod is None:
        _error(f"unknown codemod '{rule}' (see `dfmod rules`)")
        return EXIT_ERROR
    sys.stdout.write(f"# {rule}\n\n{codemod.documentation()}\n")
    return EXIT_CLEAN


def _run(args: argparse.Namespace) -> int:
    from dfmod.diff import unified_diff
    from dfmod.discovery import discover
    from dfmod.dockerfile import Dockerfile, DockerfileSyntaxError
    from dfmod.engine import Settings, check, fix
    from dfmod.registry import select_codemods
    from dfmod.report import Located, json_report, summary, text_report
    from dfmod.source import InputError, read_source, write_source

    try:
        codemods = select_codemods(args.select, args.ignore)
    except KeyError as error:
        _error(f"unknown codemod id: {error.args[0]} (see `dfmod rules`)")
        return EXIT_ERROR
    try:
        paths = discover(args.paths)
    except InputError as error:
        _error(str(error))
        return EXIT_ERROR
    settings = Settings(codemods, unsafe_fixes=args.unsafe_fixes)
    instances = settings.instances()
    failed = False
    located: list[Located] = []
    diffs: list[str] = []
    fixed = 0
    for path in paths:
        try:
            source = read_source(path)
            try:
                doc = Dockerfile(source.text, path)
            except DockerfileSyntaxError as error:
                raise InputError(path, f"cannot parse: {error}") from None
            if args.command == "check":
                located.extend(Located.of(doc, item) for item in check(doc, instances, settings))
                continue
            outcome = fix(doc, settings)
            located.extend(Located.of(outcome.doc, item) for item in outcome.findings)
            if outcome.text == source.text:
                continue
            if args.fix:
                write_source(source, outcome.text)
                fixed += len(outcome.applied)
            else:
                diffs.append(unified_diff(path, source.text, outcome.text))
        except InputError as error:
            _error(str(error))
            failed = True
    if args.command == "check":
        if args.format == "json":
            sys.stdout.write(json_report(located))
        else:
            sys.stdout.write(text_report(located))
            if located:
                sys.stdout.write(summary(located, len(paths)) + "\n")
        status = EXIT_FINDINGS if located else EXIT_CLEAN
    elif args.fix:
        if located or fixed:
            sys.stderr.write(text_report(located) + summary(located, len(paths), fixed) + "\n")
        status = EXIT_FINDINGS if located else EXIT_CLEAN
    else:
        patch = "".join(diffs)
        if args.patch:
            try:
                with open(args.patch, "w", encoding="utf-8", newline="") as handle:
                    handle.write(patch)
            except OSError as error:
                _error(f"{args.patch}: cannot write patch: {error.strerror}")
                return EXIT_ERROR
        else:
            sys.stdout.write(patch)
        status = EXIT_FINDINGS if patch or located else EXIT_CLEAN
    return EXIT_ERROR if failed else status


if __name__ == "__main__":
    sys.exit(main())
