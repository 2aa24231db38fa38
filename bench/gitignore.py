"""How dfmod's `.gitignore` handling compares with git's own, for speed and exactness.

    python bench/gitignore.py [WORKDIR]

Builds two trees in git repositories — 50,000 files in 2,000 directories with nested ignore
files and negations, and 84,000 files of which 80,000 sit in ignored `.venv/` and `build/` —
and times dfmod's walk (pathspec, `dfmod.workspace.discovery.discover`) against
`git ls-files --others --exclude-standard --cached` filtered to the same names, best of five.
Then it compares the two on edge cases (negation, nested files, directory-only and anchored
patterns, `**`, an escaped `!`, trailing spaces, `.git/info/exclude`). The figures quoted in
`dfmod/workspace/gitignore.py` come from here.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

from dfmod.workspace.discovery import discover
from dfmod.workspace.kinds import is_compose_candidate, kind_of


def _write(path: str, text: str = "") -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _repository(root: str) -> None:
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    subprocess.run(["git", "init", "-q", root], check=True)


def nested_tree(root: str) -> None:
    random.seed(1)
    _repository(root)
    _write(os.path.join(root, ".gitignore"), "*.log\nbuild/\n!keep.log\nnode_modules/\n")
    for index in range(2000):
        package = os.path.join(root, f"pkg{index % 50}")
        directory = os.path.join(package, f"mod{index}", "build" if index % 10 == 0 else "src")
        if index % 25 == 0:
            _write(os.path.join(package, ".gitignore"), "*.tmp\n!important.tmp\n/generated/\n")
        for number in range(20):
            suffix = random.choice([".py", ".log", ".tmp", ".txt", ""])
            _write(os.path.join(directory, "Dockerfile" if number == 0 else f"f{number}{suffix}"))
    for index in range(200):
        for number in range(50):
            _write(os.path.join(root, "node_modules", f"p{index}", f"x{number}.js"))


def ignored_bulk_tree(root: str) -> None:
    _repository(root)
    _write(os.path.join(root, ".gitignore"), ".venv/\nbuild/\n")
    for top, count in ((".venv", 100), ("build", 100), ("src", 10)):
        for index in range(400):
            directory = os.path.join(root, top, f"d{index}")
            for number in range(count):
                _write(os.path.join(directory, f"f{number}.py"))
            if top == "src":
                _write(os.path.join(directory, "Dockerfile"))


EDGE_CASES = {
    ".gitignore": ("*.log\n!keep.log\nbuild/\nout\n/anchored.Dockerfile\ndocs/*\n!docs/Dockerfile\n"
                   "lib/\n!lib/Dockerfile\n\\!bang.Dockerfile\ntrailing.Dockerfile   \n"
                   "**/deep/**/Dockerfile\nfoo/**/bar/\n*.Dockerfile\n!ok.Dockerfile\n"),
    "build/Dockerfile": "", "src/build/Dockerfile": "", "out/Dockerfile": "", "x/out": "",
    "anchored.Dockerfile": "", "sub/anchored.Dockerfile": "", "docs/Dockerfile": "",
    "docs/inner/Dockerfile": "", "lib/Dockerfile": "", "!bang.Dockerfile": "",
    "trailing.Dockerfile": "", "a/deep/b/c/Dockerfile": "", "a/deep/Dockerfile": "",
    "foo/a/bar/Dockerfile": "", "one.Dockerfile": "", "ok.Dockerfile": "",
    "nested/.gitignore": "!*.Dockerfile\n/local\nDockerfile.*\n!Dockerfile.keep\n",
    "nested/c.Dockerfile": "", "nested/local/Dockerfile": "", "nested/deeper/local/Dockerfile": "",
    "nested/Dockerfile.dev": "", "nested/Dockerfile.keep": "", "nested/deeper/Dockerfile.x": "",
    "nested/deeper/.gitignore": "!Dockerfile.x\n", "space dir/Dockerfile": "",
    "info/Dockerfile": "",
}


def edge_tree(root: str) -> None:
    _repository(root)
    for name, text in EDGE_CASES.items():
        _write(os.path.join(root, name), text)
    with open(os.path.join(root, ".git", "info", "exclude"), "a", encoding="utf-8") as handle:
        handle.write("info/\n")


def _candidate(path: str) -> bool:
    return kind_of(path) is not None or is_compose_candidate(path)


def by_dfmod(root: str) -> list[str]:
    return sorted(os.path.relpath(item.path, root) for item in discover([root]).files)


def by_git(root: str) -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z", "--others", "--exclude-standard", "--cached"],
                            cwd=root, capture_output=True, check=True).stdout.decode()
    return sorted({path for path in listed.split("\0") if path and _candidate(path)})


def _best(function: object, root: str) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(5):
        start = time.perf_counter()
        count = len(function(root))  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best, count


def main() -> int:
    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="dfmod-gitignore-")
    for name, build in (("nested", nested_tree), ("ignored-bulk", ignored_bulk_tree)):
        root = os.path.join(work, name)
        build(root)
        for label, function in (("dfmod (pathspec)", by_dfmod), ("git ls-files", by_git)):
            seconds, count = _best(function, root)
            print(f"{name:13s} {label:17s} {seconds * 1000:7.1f} ms  {count} files")
        assert by_dfmod(root) == by_git(root), f"{name}: dfmod and git disagree"
    root = os.path.join(work, "edge-cases")
    edge_tree(root)
    ours, gits = by_dfmod(root), by_git(root)
    print(f"edge cases: {len(EDGE_CASES)} paths, {len(ours)} kept by dfmod, "
          f"{'the same as' if ours == gits else 'NOT the same as'} git")
    return 0 if ours == gits else 1


if __name__ == "__main__":
    sys.exit(main())
