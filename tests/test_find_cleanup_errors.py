"""find-cleanup-errors: real GNU find on real trees, before and after the fix.

The claims in the rule's documentation are checked here: with `\\;` find fails whenever it
deletes a directory; with `+` only when a batch runs while find is inside a deleted
directory (nested matches, more than one batch); `-prune` fixes both and deletes the same
directories; the scoped style never masks the commands before the find.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dfmod.codemods.find_cleanup_errors import FindCleanupErrors
from runshell import fixed_text, golden_input, run_bash, run_shells, stub

_SITE = "/usr/local/lib/python3.11"


def _tree(root: Path) -> Path:
    """A small site-packages: test, cache and doc directories, some nested in each other."""
    for package in ("alpha", "beta", "gamma"):
        for relative in ("tests/unit", "tests/data/tests", "__pycache__", "docs/api", "core"):
            (root / package / relative).mkdir(parents=True, exist_ok=True)
            (root / package / relative / "f.py").write_text("x = 1\n")
        (root / package / "core" / "mod.pyc").write_text("")
    return root


def _listing(root: Path) -> list[str]:
    return sorted(os.path.relpath(os.path.join(path, name), root)
                  for path, dirs, files in os.walk(root) for name in dirs + files)


def _commands(text: str) -> list[str]:
    """The find commands of the first RUN, one per `&&`-separated part."""
    script = run_shells(text)[0]
    return [part.strip() for part in script.split("&&") if part.strip().startswith("find ")]


def test_semicolon_form_fails_and_prune_fixes_it(tmp_path: Path) -> None:
    text = golden_input("find-cleanup-errors", "semicolon")
    fixed = fixed_text(text, FindCleanupErrors)
    pairs = list(zip(_commands(text), _commands(fixed), strict=True))
    assert len(pairs) == 4
    for number, (old, new) in enumerate(pairs):
        before = _tree(tmp_path / f"before{number}")
        after = _tree(tmp_path / f"after{number}")
        got_old = run_bash(old.replace(_SITE, str(before)))
        got_new = run_bash(new.replace(_SITE, str(after)))
        assert got_new.returncode == 0, got_new.stderr
        assert got_new.stderr == ""
        assert _listing(after) == _listing(before), "the fix must delete the same paths"
        if "-type f" in old:
            assert old == new and got_old.returncode == 0  # files: nothing to walk into
        elif old.endswith((";", "';'")) or "-execdir" in old:
            # `-execdir … +` runs its batch as find moves to another directory: it fails
            # like `\;` when a deleted directory has subdirectories (docs/api here).
            assert got_old.returncode == 1
            assert "No such file or directory" in got_old.stderr
        else:  # `-exec … +` on a small tree: one batch, run after the walk: no error
            assert got_old.returncode == 0, got_old.stderr
        if "-type f" not in old:
            assert _listing(after) != _listing(_tree(tmp_path / f"fresh{number}"))


def test_batched_form_fails_only_with_nested_matches_over_one_batch(tmp_path: Path) -> None:
    """`+` fails when a batch (~128 KiB) is run while find is inside a matched directory."""
    original = "find SITE -type d -name tests -exec rm -rf {} +"
    fixed = fixed_text(f"FROM python:3.11\nRUN {original}\n", FindCleanupErrors)
    assert fixed.endswith("RUN find SITE -type d -name tests -prune -exec rm -rf {} +\n")
    command = run_shells(fixed)[0]

    def nested(root: Path) -> Path:
        for number in range(600):  # ~170 KiB of paths: two batches
            (root / "tests" / f"{number:05d}{'x' * 190}" / "tests").mkdir(parents=True)
        (root / "keep").mkdir()
        return root

    before = nested(tmp_path / "before")
    got_old = run_bash(original.replace("SITE", str(before)))
    assert got_old.returncode == 1
    assert "No such file or directory" in got_old.stderr
    after = nested(tmp_path / "after")
    got_new = run_bash(command.replace("SITE", str(after)))
    assert got_new.returncode == 0, got_new.stderr[:500]
    assert _listing(after) == _listing(before) == ["keep"]


def test_whole_chain_runs_through_after_the_fix(tmp_path: Path) -> None:
    """A whole cleanup RUN (escape=` file) in bash: the fix lets the chain complete."""
    text = golden_input("find-cleanup-errors", "escape-backtick")
    for name, expect in ((text, 1), (fixed_text(text, FindCleanupErrors), 0)):
        root = _tree(tmp_path / f"site{expect}")
        (script,) = run_shells(name)
        result = run_bash(script.replace("/usr/local", str(root)) + " && echo cleaned",
                          stub("pip", 0))
        assert result.returncode == expect, result.stderr
        assert ("cleaned" in result.stdout) == (expect == 0)


@pytest.mark.parametrize("install_status", [0, 1])
def test_scoped_style_never_masks_the_install(tmp_path: Path, install_status: int) -> None:
    """`{ find … 2>/dev/null || true; }` tolerates find only: a failed install still fails."""
    text = golden_input("find-cleanup-errors", "seed-001-scoped")
    fixed = fixed_text(text, FindCleanupErrors, {"style": "scoped"}, unsafe=True)
    (script,) = run_shells(fixed)
    assert script.count(" 2>/dev/null || true; }") == 3  # tests, test, doc: the names that nest
    root = _tree(tmp_path / "venv")
    result = run_bash(script.replace("/app/.venv", str(root)), stub("poetry", install_status))
    if install_status:
        assert result.returncode == 1 and "Cleanup completed." not in result.stdout
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.endswith("Cleanup completed.\n")
        assert not [path for path in _listing(root) if path.endswith(("tests", "__pycache__"))]
    # the seed's unscoped form would have swallowed the failed install:
    seed_style = "poetry install && find /nonexistent -exec rm -rf {} + 2>/dev/null || true && echo done"
    assert run_bash(seed_style, stub("poetry", 1)).stdout.endswith("done\n")


def test_scoped_style_is_unsafe_and_prune_style_is_safe() -> None:
    text = golden_input("find-cleanup-errors", "scoped-safe-only")
    fixed = fixed_text(text, FindCleanupErrors, {"style": "scoped"}, unsafe=False)
    assert "{ find" not in fixed and "-prune" in fixed  # only the safe -prune was applied


def test_unknown_style_is_rejected() -> None:
    with pytest.raises(ValueError, match="style"):
        FindCleanupErrors({"style": "silent"})


@pytest.fixture(autouse=True)
def _find_is_gnu() -> None:
    if shutil.which("find") is None:
        pytest.skip("find is not installed")


def test_batched_form_on_names_that_never_nest_passes_however_many(tmp_path: Path) -> None:
    """6,000 `__pycache__` and `*.dist-info` directories, several batches: exit 0, no finding."""
    for number in range(3000):
        (tmp_path / f"pkg{number:05d}{'x' * 60}" / "__pycache__").mkdir(parents=True)
        (tmp_path / f"pkg{number:05d}-1.0.dist-info" / "licenses").mkdir(parents=True)
    for command in ("find SITE -type d -name __pycache__ -exec rm -rf {} +",
                    "find SITE -type d -name '*.dist-info' -exec rm -rf {} +"):
        assert fixed_text(f"FROM python:3.11\nRUN {command}\n", FindCleanupErrors).endswith(f"RUN {command}\n")
        result = run_bash(command.replace("SITE", str(tmp_path)))
        assert result.returncode == 0, result.stderr[:300]
    assert all(not name.endswith(("__pycache__", ".dist-info")) for name in _listing(tmp_path))


@pytest.mark.skipif(shutil.which("busybox") is None, reason="busybox is not installed")
def test_busybox_find_fails_the_same_way_and_prune_fixes_it(tmp_path: Path) -> None:
    """Alpine's find: `\\;` exits 1 on a deleted directory; the `-prune` fix exits 0."""
    original = "busybox find SITE -type d -name tests -exec rm -rf {} \\;"
    fixed = "busybox find SITE -type d -name tests -prune -exec rm -rf {} \\;"
    for command, status in ((original, 1), (fixed, 0)):
        root = _tree(tmp_path / f"site{status}")
        result = run_bash(command.replace("SITE", str(root)))
        assert result.returncode == status, result.stderr
        assert not [path for path in _listing(root) if path.endswith("tests")]


# -- precision review: extension globs, `; exit 0` --------------------------------------------
FINDS = [["find"], *([["busybox", "find"]] if shutil.which("busybox") else [])]


def _file_tree(root: Path) -> Path:
    """node_modules / site-packages shapes: files named *.pyc, *.node, *.map, nested deep."""
    for relative in ("pkg/__pycache__", "pkg/sub/deeper", "node_modules/addon/build/Release",
                     "node_modules/lib/dist"):
        (root / relative).mkdir(parents=True, exist_ok=True)
    for relative in ("pkg/__pycache__/a.cpython-312.pyc", "pkg/sub/deeper/b.pyc", "pkg/c.pyo",
                     "node_modules/addon/build/Release/addon.node", "node_modules/lib/dist/x.js.map",
                     "node_modules/lib/dist/x.js", "pkg/keep.py"):
        (root / relative).write_text("x\n")
    return root


@pytest.mark.parametrize("expression", [
    "-name '*.pyc'", "\\( -name '*.py[co]' -o -iname '*.NODE' \\)", "-xdev -name '*.map'"])
def test_extension_globs_delete_no_directory_and_do_not_fail(tmp_path: Path, expression: str) -> None:
    """GNU and BusyBox find: `-name '*.pyc' -exec rm -rf {} \\;` exits 0 on a tree full of
    them, and dfmod does not report it."""
    command = f"find SITE {expression} -exec rm -rf {{}} \\;"
    assert fixed_text(f"FROM python:3.12\nRUN {command}\n", FindCleanupErrors).endswith(f"RUN {command}\n")
    for number, find in enumerate(FINDS):
        root = _file_tree(tmp_path / f"t{number}")
        result = run_bash(" ".join(find) + command[len("find"):].replace("SITE", str(root)))
        assert result.returncode == 0, (find, result.stderr)
        assert "pkg/keep.py" in _listing(root)


def test_directory_globs_still_fail_and_are_still_reported(tmp_path: Path) -> None:
    """`*.egg-info` names directories (with subdirectories): both finds exit 1."""
    command = "find SITE -name '*.egg-info' -exec rm -rf {} \\;"
    assert "-prune" in fixed_text(f"FROM python:3.12\nRUN {command}\n", FindCleanupErrors)
    for number, find in enumerate(FINDS):
        root = tmp_path / f"t{number}"
        (root / "pkg-1.0.egg-info" / "licenses").mkdir(parents=True)
        result = run_bash(" ".join(find) + command[len("find"):].replace("SITE", str(root)))
        assert result.returncode == 1, find


def test_a_find_followed_by_exit_0_is_said_to_be_hidden_already(tmp_path: Path) -> None:
    """`find … \\; ; exit 0`: the RUN passes although find exits 1 (`pip/` and
    `pip-*.dist-info/` in a venv), and the message says so."""
    from dfmod.linting.engine import check
    from dfmod.syntax.dockerfile import Dockerfile

    text = golden_input("find-cleanup-errors", "exit-zero")
    messages = [item.message for item in check(Dockerfile(text), [FindCleanupErrors()])]
    assert messages == [
        "find walks into each directory `rm -rf {} \\;` just deleted and exits 1, and the `; exit 0` "
        "after it hides that and every real error",
        "find walks into each directory `rm -rf {} \\;` just deleted and exits 1, and its `|| exit 0` "
        "hides that and every real error"]
    original, fixed = run_shells(text)[1], run_shells(fixed_text(text, FindCleanupErrors))[1]
    for number, find in enumerate(FINDS):
        for name, script, status in (("before", original, 1), ("after", fixed, 0)):
            venv = tmp_path / f"{name}{number}"
            for relative in ("pip/_internal/cli", "pip-24.0.dist-info/licenses", "bin"):
                (venv / relative).mkdir(parents=True)
            alone = script.replace("; exit 0", "").replace("find", " ".join(find), 1)
            assert run_bash(alone, cwd=venv).returncode == status, (find, name)
            assert run_bash(script.replace("find", " ".join(find), 1), cwd=venv).returncode == 0
            assert _listing(venv) == ["bin"]
