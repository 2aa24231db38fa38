"""Smoke tests of the real-build harness: it builds what modern Dockerfiles use (heredocs,
cache mounts, pip from the registry), runs the images, and can show a rule's claim true.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from buildkit import build, fix, run, sh, write_context

from dfmod.syntax.dockerfile import Dockerfile, run_scripts

pytestmark = pytest.mark.build

MODERN = """\
FROM python:3.12-slim
RUN <<EOF
set -e
echo "from a heredoc" > /heredoc.txt
python -c "import sys; print(sys.version)"
EOF
RUN --mount=type=cache,target=/root/.cache/pip pip install termcolor==1.1.0
"""


@pytest.fixture(scope="module")
def modern_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    context = write_context(tmp_path_factory.mktemp("modern"), {"Dockerfile": MODERN})
    result = build(context)
    assert result.ok, result
    assert result.image is not None
    return result.image


def test_heredoc_and_cache_mount_build(modern_image: str) -> None:
    assert run(modern_image, "cat", "/heredoc.txt").stdout == "from a heredoc\n"


def test_installed_package_imports(modern_image: str) -> None:
    result = run(modern_image, "python", "-c", "import termcolor; print(termcolor.colored('ok', 'green'))")
    assert result.returncode == 0, result
    assert "ok" in result.stdout


def test_stand_in_image_is_bookworm_python_311(modern_image: str) -> None:
    # Every python:* tag is the same image: later tests must not rely on the tag's version.
    result = run(modern_image, "python", "-c", "import sys; print(sys.version_info[:2])")
    assert result.stdout.strip() == "(3, 11)", result
    assert "bookworm" in run(modern_image, "cat", "/etc/os-release").stdout


def test_a_heredoc_word_cut_by_a_continuation_runs_its_body(tmp_path: Path) -> None:
    """`RUN <`, a backslash, a newline, `<EOF`: BuildKit joins the line to `<<EOF` and runs
    the body as the script, and dfmod's model reads that body as the RUN's script."""
    text = "FROM python:3.12-slim\nRUN <\\\n<EOF\ntouch /made-by-body\nEOF\n"
    result = build(write_context(tmp_path, {"Dockerfile": text}))
    assert result.ok, result
    assert run(result.image, "test", "-f", "/made-by-body").returncode == 0
    doc = Dockerfile(text)
    (script,) = run_scripts(doc, doc.instructions[1])
    assert script.is_heredoc_body and [command.name for command in script.commands] == ["touch"]


def test_plain_docker_build_is_buildkit_too(tmp_path: Path) -> None:
    context = write_context(tmp_path, {"Dockerfile": "FROM python:3.11-slim\nRUN <<EOF\necho plain > /p\nEOF\n"})
    result = build(context, plain=True)
    assert result.ok, result
    assert run(result.image, "cat", "/p").stdout == "plain\n"


def test_cache_mount_keeps_built_wheels(tmp_path: Path) -> None:
    # pip's HTTP cache stays empty here (the registry's answers are not cacheable), but the
    # wheels pip builds from an sdist are always cached: termcolor 1.1.0 ships only an sdist.
    # A unique mount id gives this test a cache mount of its own, and unique build args make
    # the step run (the layer cache's key leaves out the mount's id).
    run_id = uuid.uuid4().hex
    mount = f"--mount=type=cache,id=harness-{run_id},target=/root/.cache/pip"
    context = write_context(tmp_path, {"Dockerfile": f"""\
FROM python:3.12-slim
ARG BUST
RUN {mount} echo "$BUST" && pip install termcolor==1.1.0
"""})
    first = build(context, build_args={"BUST": f"{run_id}-1"})
    assert first.ok, first
    assert "Building wheel for termcolor" in first.log
    again = build(context, build_args={"BUST": f"{run_id}-2"})  # the step runs again; the mount is kept
    assert again.ok, again
    assert "Building wheel for termcolor" not in again.log
    assert "Using cached termcolor-1.1.0-py3-none-any.whl" in again.log
    fresh = build(context, build_args={"BUST": f"{run_id}-3"}, no_cache=True)  # --no-cache empties mounts too
    assert fresh.ok, fresh
    assert "Building wheel for termcolor" in fresh.log


SEED_001 = """\
FROM python:3.12-slim AS builder
WORKDIR /app
RUN python -m venv /app/.venv && /app/.venv/bin/pip install pyflakes==3.2.0

FROM python:3.12-slim AS moved
COPY --from=builder /app/.venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

FROM python:3.12-slim AS same
COPY --from=builder /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH
"""


@pytest.fixture(scope="module")
def seed_context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_context(tmp_path_factory.mktemp("seed"), {"Dockerfile": SEED_001})


def test_relocated_venv_console_script_is_not_found(seed_context: Path) -> None:
    moved = build(seed_context, target="moved")
    assert moved.ok, moved
    direct = run(moved.image, "pyflakes", "--version")
    assert direct.returncode != 0, direct
    assert "exec /opt/venv/bin/pyflakes: no such file or directory" in direct.stderr, direct
    shelled = sh(moved.image, "pyflakes --version")
    assert shelled.returncode == 127, shelled
    assert "not found" in shelled.stderr, shelled
    assert run(moved.image, "head", "-n1", "/opt/venv/bin/pyflakes").stdout == "#!/app/.venv/bin/python\n"


def test_venv_copied_to_the_same_path_works(seed_context: Path) -> None:
    same = build(seed_context, target="same")
    assert same.ok, same
    result = run(same.image, "pyflakes", "--version")
    assert result.returncode == 0, result
    assert result.stdout.startswith("3.2.0")


def test_dfmod_fix_makes_the_image_work(tmp_path: Path) -> None:
    # The pattern of later rule tests: build, fail; dfmod apply --fix; build, work.
    context = write_context(tmp_path, {"Dockerfile": SEED_001.split("FROM python:3.12-slim AS same")[0]
                                       + 'CMD ["pyflakes", "--version"]\n'})
    before = build(context)
    assert before.ok, before
    assert run(before.image).returncode != 0
    fixed = fix(context / "Dockerfile", unsafe=True)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "/opt/venv" not in (context / "Dockerfile").read_text()
    after = build(context)
    assert after.ok, after
    result = run(after.image)
    assert result.returncode == 0, result
    assert result.stdout.startswith("3.2.0")
