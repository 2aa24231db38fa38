"""keep-dist-info: what deleting `*.dist-info` really breaks, shown in a real virtualenv.

A wheel with a console script and an entry-point plugin is installed by real pip into a
real `python -m venv`, next to a legacy `*.egg-info` install. The seed's cleanup `RUN`
(from the golden case) then runs in bash against that venv: afterwards the console script
still works — the seed's explanation was wrong — but `importlib.metadata.version()` raises
`PackageNotFoundError` and the plugin is gone. The fixed `RUN` keeps both, and still
deletes what the rest of the cleanup deletes.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import pytest

from dfmod.codemods.keep_dist_info import KeepDistInfo
from dfmod.linting.edits import Finding
from dfmod.linting.engine import check
from dfmod.syntax.dockerfile import Dockerfile
from runshell import fixed_text, golden_input, run_bash, run_shells, stub
from wheels import build_wheel

_PACKAGE = {
    "demo_pkg/__init__.py": 'def main():\n    print("demo ok")\n\n\ndef plugin():\n    return "hello"\n',
    "demo_pkg/tests/test_demo.py": "def test_nothing():\n    pass\n",
    "demo_pkg-1.2.3.dist-info/METADATA": "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.2.3\n",
    "demo_pkg-1.2.3.dist-info/WHEEL": ("Wheel-Version: 1.0\nGenerator: dfmod-test\n"
                                       "Root-Is-Purelib: true\nTag: py3-none-any\n"),
    "demo_pkg-1.2.3.dist-info/entry_points.txt": ("[console_scripts]\ndemo = demo_pkg:main\n\n"
                                                  "[demo.plugins]\nhello = demo_pkg:plugin\n"),
}

_PROBE = """
import importlib.metadata as metadata
for name in ("demo-pkg", "legacy-pkg"):
    try:
        print(name, metadata.version(name))
    except metadata.PackageNotFoundError:
        print(name, "PackageNotFoundError")
print("plugins", sorted(ep.name for ep in metadata.entry_points(group="demo.plugins")))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"), "demo_pkg", "1.2.3", _PACKAGE)


def _venv(root: Path, wheel: Path) -> Path:
    """`python -m venv`, the wheel installed by pip, and a legacy egg-info package."""
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install",
                    "--no-index", "--no-deps", "-q", wheel], check=True, capture_output=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    (site / "legacy_pkg.py").write_text("VALUE = 1\n")
    egg = site / "legacy_pkg-0.1-py3.11.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy-pkg\nVersion: 0.1\n")
    return venv


def _probe(venv: Path) -> str:
    return subprocess.run([venv / "bin" / "python", "-c", _PROBE], capture_output=True,
                          text=True, check=True).stdout


def _cleanup(text: str, venv: Path) -> subprocess.CompletedProcess[str]:
    """Run the Dockerfile's cleanup RUN against `venv` (the seed builds it at /app/.venv)."""
    (script,) = run_shells(text)
    return run_bash(script.replace("/app/.venv", str(venv)), stub("poetry", 0))


def test_original_cleanup_loses_metadata_but_not_console_scripts(tmp_path: Path, wheel: Path) -> None:
    venv = _venv(tmp_path, wheel)
    assert _probe(venv).splitlines() == ["demo-pkg 1.2.3", "legacy-pkg 0.1", "plugins ['hello']"]
    result = _cleanup(golden_input("keep-dist-info", "seed-001"), venv)
    assert result.returncode == 0, result.stderr
    assert _probe(venv).splitlines() == [
        "demo-pkg PackageNotFoundError", "legacy-pkg PackageNotFoundError", "plugins []"]
    # The seed blamed the deletion for a missing `alembic`: console scripts keep working.
    script = subprocess.run([venv / "bin" / "demo"], capture_output=True, text=True)
    assert script.stdout == "demo ok\n"


def test_fixed_cleanup_keeps_metadata_and_still_cleans(tmp_path: Path, wheel: Path) -> None:
    venv = _venv(tmp_path, wheel)
    fixed = fixed_text(golden_input("keep-dist-info", "seed-001"), KeepDistInfo)
    assert "dist-info" not in fixed and "egg-info" not in fixed
    result = _cleanup(fixed, venv)
    assert result.returncode == 0, result.stderr
    assert "Cleanup completed." in result.stdout
    assert _probe(venv).splitlines() == ["demo-pkg 1.2.3", "legacy-pkg 0.1", "plugins ['hello']"]
    site = next((venv / "lib").glob("python*/site-packages"))
    assert not (site / "demo_pkg" / "tests").exists(), "the rest of the cleanup must still run"
    assert subprocess.run([venv / "bin" / "demo"], capture_output=True, text=True).stdout == "demo ok\n"


@pytest.mark.parametrize("case", ["seed-001", "tolerated", "rm-operands", "multi-stage", "other-shapes",
                                  "inner-comments", "crlf"])
def test_fix_keeps_every_other_command_s_fate(case: str) -> None:
    """Where the removed cleanup succeeded, the fixed RUN does exactly what the original did.

    Every tool is a stub that prints its call; each combination of outcomes is run in real
    bash. The fixed shell must print the same calls and exit the same way as the original
    whose metadata cleanup (`find`/`rm`/`xargs`) succeeds.
    """
    original = golden_input("keep-dist-info", case)
    fixed = fixed_text(original, KeepDistInfo)
    before, after = run_shells(original), run_shells(fixed)
    assert len(before) == len(after)  # (no golden case above drops a whole RUN)
    tools = ("poetry", "pip", "python", "rm", "find", "xargs")
    for old, new in zip(before, after, strict=True):
        for pip_status, poetry_status in itertools.product((0, 1), repeat=2):
            stubs = stub("poetry", poetry_status) + stub("pip", pip_status) + "".join(
                stub(name, 0) for name in tools[2:])
            got_old = run_bash(old, stubs)
            got_new = run_bash(new, stubs)
            calls_old = [line for line in got_old.stdout.splitlines()
                         if not line.startswith(("find ", "rm ", "xargs "))]
            calls_new = [line for line in got_new.stdout.splitlines()
                         if not line.startswith(("find ", "rm ", "xargs "))]
            assert (calls_new, got_new.returncode) == (calls_old, got_old.returncode), (old, new)


def test_masked_prefix_stays_masked() -> None:
    """`pip … && find … || true && echo`: the `|| true` also covered pip; the fix keeps that."""
    fixed = fixed_text(golden_input("keep-dist-info", "tolerated"), KeepDistInfo)
    assert "RUN pip install -r requirements.txt || true && echo done\n" in fixed
    result = run_bash("pip install -r requirements.txt || true && echo done", stub("pip", 1))
    assert result.returncode == 0 and result.stdout.endswith("done\n")


def test_source_checkout_egg_info_is_left_alone() -> None:
    text = "FROM python:3.11\nRUN pip install . && rm -rf build dist *.egg-info\n"
    assert fixed_text(text, KeepDistInfo) == text


def test_a_find_whose_type_excludes_the_metadata_deletes_nothing(tmp_path: Path) -> None:
    """`-type f -name '*.dist-info'` (and `-type d -type f`) match no metadata directory."""
    metadata = tmp_path / "site-packages" / "demo_pkg-1.2.3.dist-info"
    metadata.mkdir(parents=True)
    (metadata / "METADATA").write_text("Name: demo-pkg\n")
    for command in ("find SITE -type f -name '*.dist-info' -exec rm -rf {} +",
                    "find SITE -type d -type f -name '*.dist-info' -delete"):
        result = run_bash(command.replace("SITE", str(tmp_path)))
        assert result.returncode == 0 and (metadata / "METADATA").exists()
    (finding,) = [item for item in check_text("FROM x\nRUN find / -type f -name '*.dist-info' -delete\n")]
    assert "deletes no `*.dist-info`" in finding.message


def test_leftovers_of_an_uninstalled_package_are_not_reported() -> None:
    text = golden_input("keep-dist-info", "uninstalled-leftovers")
    assert check_text(text) == []
    assert len(check_text(golden_input("keep-dist-info", "star-info"))) == 2


def check_text(text: str) -> list[Finding]:
    return check(Dockerfile(text), [KeepDistInfo()])
