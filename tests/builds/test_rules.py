"""Every Dockerfile rule proven by a build (issue #12, item 2).

For each Dockerfile codemod, a *before* Dockerfile that dfmod reports, built and run to show
the failure the rule's documentation claims (the build that passes though it must not, the
container that exits with the quoted message, the cache mount that stays empty), then the
same Dockerfile after `dfmod apply --fix --select <rule>` (with `--unsafe-fixes` when the fix
is unsafe), built and run to show the claim's other half. Only the rule under test is
applied, so each after-image shows what that one fix does.

Tests are named `test_<rule_with_underscores>_…`; `dfmod explain <rule>` says what each claims.
`test_every_dockerfile_rule_has_a_proof` keeps the list complete.

What these builds cannot show, and why, is in each rule's `## Proof` section (`dfmod explain
RULE`), which names these tests; `tests/test_docs.py` keeps the two in step.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from buildkit import build, run, sh, write_context
from support import PIP_SITE, Proven, apply_fixes, findings, rules, step_cached, step_ran

from dfmod.linting.registry import all_codemods

pytestmark = pytest.mark.build

PROVEN = {
    "cache-mount-no-cache-dir", "copy-before-install", "find-cleanup-errors", "keep-dist-info",
    "masked-failure", "masked-install-failure", "pip-cache-purge", "undefined-env-var",
    "user-site-not-on-path", "venv-relocated", "verify-imports",
}


def test_every_dockerfile_rule_has_a_proof() -> None:
    dockerfile_rules = {rule for rule, codemod in all_codemods().items() if codemod.kind == "dockerfile"}
    assert dockerfile_rules == PROVEN
    names = {name for name in globals() if name.startswith("test_")}
    for rule in PROVEN:
        assert any(name.startswith(f"test_{rule.replace('-', '_')}_") for name in names), rule



def _reported(dockerfile: Path, rule: str, context: Path | None = None) -> list[dict]:
    found = [item for item in findings(dockerfile, context=context) if item["rule"] == rule]
    assert found, f"{rule} does not report {dockerfile}:\n{dockerfile.read_text()}"
    return found


def _fixed(dockerfile: Path, rule: str, *, unsafe: bool, context: Path | None = None) -> str:
    """Apply `rule`'s fix alone; the rule no longer reports the result."""
    before = dockerfile.read_text()
    text = apply_fixes(dockerfile, select=rule, unsafe=unsafe, context=context)
    assert text != before, f"{rule} fixed nothing in:\n{before}"
    assert rule not in rules(findings(dockerfile, context=context)), text
    return text


def _busts(prefix: str) -> Iterator[dict[str, str]]:
    """Build args that make a step run again: the layer cache's key leaves out a mount's
    `id=`, so two tests whose fixed RUNs read the same would otherwise share the layer."""
    return ({"BUST": f"{prefix}-{n}"} for n in itertools.count())


def _vanished(log: str, path: str) -> bool:
    """GNU find's complaint about a directory deleted under it (quotes are ‘’ under C.UTF-8)."""
    return re.search(rf"find: [‘']{re.escape(path)}[^’']*[’']: No such file or directory", log) is not None


def _mount_file_count(tmp_path: Path, mount_id: str, name: str = "*") -> int:
    """How many files named `name` the cache mount `mount_id` holds (a build that only looks)."""
    context = write_context(tmp_path / f"probe-{uuid.uuid4().hex[:8]}", {"Dockerfile": f"""\
FROM python:3.12-slim
ARG BUST
RUN --mount=type=cache,id={mount_id},target=/cache echo "$BUST" && find /cache -type f -name '{name}' | wc -l > /count
"""})
    probe = build(context, build_args={"BUST": uuid.uuid4().hex})
    assert probe.ok, probe
    return int(run(probe.image, "cat", "/count").stdout)


# --- cache-mount-no-cache-dir ------------------------------------------------------------------

def prove_cache_mount_no_cache_dir_mount_stays_empty(tmp_path: Path, disable: str) -> None:
    # Claim: with --no-cache-dir (or PIP_NO_CACHE_DIR set to anything, "0" included) pip
    # neither reads nor writes its cache, so the mount stays empty and every build builds
    # (downloads) again; without it the next build uses the mount. The image is the same.
    mount_id = f"rule-cmncd-{uuid.uuid4().hex}"
    bust = _busts(mount_id)
    install = ("pip install --no-cache-dir termcolor==1.1.0" if disable == "flag"
               else "PIP_NO_CACHE_DIR=0 pip install termcolor==1.1.0")
    context = write_context(tmp_path / "ctx", {"Dockerfile": f"""\
FROM python:3.12-slim
ARG BUST
RUN --mount=type=cache,id={mount_id},target=/root/.cache/pip \\
    echo "$BUST" && {install}
"""})
    _reported(context / "Dockerfile", "cache-mount-no-cache-dir")
    before = build(context, build_args=next(bust))
    assert before.ok, before
    assert "Building wheel for termcolor" in before.log
    assert _mount_file_count(tmp_path, mount_id) == 0  # dead weight
    packages_before = sh(before.image, f"ls {PIP_SITE}").stdout

    _fixed(context / "Dockerfile", "cache-mount-no-cache-dir", unsafe=False)
    first = build(context, build_args=next(bust))
    assert first.ok, first
    assert _mount_file_count(tmp_path, mount_id) > 0
    second = build(context, build_args=next(bust))
    assert second.ok, second
    assert "Using cached termcolor-1.1.0-py3-none-any.whl" in second.log
    assert "Building wheel for termcolor" not in second.log
    # The cached files live in the mount, not in the image: it holds the same packages.
    assert sh(second.image, f"ls {PIP_SITE}").stdout == packages_before
    assert sh(second.image, "ls -A /root/.cache/pip 2>/dev/null | wc -l").stdout.strip() == "0"


@pytest.mark.parametrize("disable", ["flag", "inline-env-0"])
def test_cache_mount_no_cache_dir_mount_stays_empty(proven: Proven, disable: str) -> None:
    proven()


def prove_cache_mount_no_cache_dir_root_mount_unused_by_non_root_user(tmp_path: Path) -> None:
    # Claim: as a non-root USER pip caches in that user's home, so a mount at
    # /root/.cache/pip is never used; the unsafe fix mounts the user's cache dir with uid=.
    mount_id = f"rule-cmncd-user-{uuid.uuid4().hex}"
    bust = _busts(mount_id)
    context = write_context(tmp_path / "ctx", {"Dockerfile": f"""\
FROM python:3.12-slim
RUN useradd --create-home --uid 1000 app
USER app
ARG BUST
RUN --mount=type=cache,id={mount_id},target=/root/.cache/pip \\
    echo "$BUST" && pip install --user termcolor==1.1.0
"""})
    _reported(context / "Dockerfile", "cache-mount-no-cache-dir")
    for _ in range(2):
        before = build(context, build_args=next(bust))
        assert before.ok, before
        assert "Building wheel for termcolor" in before.log  # the second build too: mount unused
    assert _mount_file_count(tmp_path, mount_id) == 0

    text = _fixed(context / "Dockerfile", "cache-mount-no-cache-dir", unsafe=True)
    assert "target=/home/app/.cache/pip" in text and "uid=1000" in text
    for _ in range(2):
        after = build(context, build_args=next(bust))
        assert after.ok, after
    assert "Using cached termcolor-1.1.0-py3-none-any.whl" in after.log
    assert run(after.image, "python", "-c", "import termcolor").returncode == 0


def test_cache_mount_no_cache_dir_root_mount_unused_by_non_root_user(proven: Proven) -> None:
    proven()


# --- copy-before-install -----------------------------------------------------------------------

def prove_copy_before_install_code_edit_reinstalls(tmp_path: Path) -> None:
    # Claim: `COPY . <dest>` before the install makes any edit of the context re-run the
    # install; the fix copies the requirements first, so an edit leaves the install cached.
    # The image holds the same files either way.
    install = "pip install --no-cache-dir -r requirements.txt"
    context = write_context(tmp_path / "ctx", {
        "Dockerfile": f"""\
FROM python:3.12-slim
WORKDIR /app
COPY . /app
RUN {install}
CMD ["python", "app.py"]
""",
        "requirements.txt": "six==1.16.0\n",
        "app.py": f"import six\nprint('edit', {uuid.uuid4().hex!r}, six.__version__)\n",
    })
    _reported(context / "Dockerfile", "copy-before-install")
    assert build(context).ok
    (context / "app.py").write_text(f"import six\nprint('edit', {uuid.uuid4().hex!r}, six.__version__)\n")
    edited = build(context)
    assert edited.ok, edited
    assert step_ran(edited.log, install), edited
    assert "Collecting six==1.16.0" in edited.log
    files_before = sh(edited.image, f"cd / && find app {PIP_SITE} -name __pycache__ -prune -o -print | sort").stdout

    text = _fixed(context / "Dockerfile", "copy-before-install", unsafe=True)
    assert text.index("COPY requirements.txt") < text.index(install) < text.index("COPY . /app")
    assert build(context).ok
    marker = uuid.uuid4().hex
    (context / "app.py").write_text(f"import six\nprint('edit', {marker!r}, six.__version__)\n")
    after = build(context)
    assert after.ok, after
    assert step_cached(after.log, install), after
    assert "Collecting six" not in after.log
    assert run(after.image).stdout == f"edit {marker} 1.16.0\n"
    files_after = sh(after.image, f"cd / && find app {PIP_SITE} -name __pycache__ -prune -o -print | sort").stdout
    assert files_after == files_before


def test_copy_before_install_code_edit_reinstalls(proven: Proven) -> None:
    proven()


# --- find-cleanup-errors -----------------------------------------------------------------------

def prove_find_cleanup_errors_semicolon_fails_the_build(tmp_path: Path) -> None:
    # Claim: find -exec rm -rf {} \; walks into each directory it just deleted, says
    # "No such file or directory" and exits 1: the RUN fails although every directory went.
    # -prune (the safe fix) deletes the same directories and passes.
    context = write_context(tmp_path / "ctx", {"Dockerfile": f"""\
FROM python:3.12-slim
RUN pip install --no-cache-dir pyflakes==3.2.0 && \\
    find {PIP_SITE} -type d -name test -exec rm -rf {{}} \\;
CMD ["pyflakes", "--version"]
"""})
    _reported(context / "Dockerfile", "find-cleanup-errors")
    before = build(context)
    assert not before.ok, before
    assert _vanished(before.log, f"{PIP_SITE}/pyflakes/test"), before

    text = _fixed(context / "Dockerfile", "find-cleanup-errors", unsafe=False)
    assert "-prune -exec rm -rf" in text
    after = build(context)
    assert after.ok, after
    assert sh(after.image, f"find {PIP_SITE} -type d -name test | wc -l").stdout.strip() == "0"
    result = run(after.image)
    assert result.returncode == 0 and result.stdout.startswith("3.2.0"), result


def test_find_cleanup_errors_semicolon_fails_the_build(proven: Proven) -> None:
    proven()


def prove_find_cleanup_errors_execdir_fails_on_directories_with_subdirectories(tmp_path: Path, action: str) -> None:
    # Claim: -execdir … \; fails whatever it deletes; -execdir … + fails whenever a deleted
    # directory has subdirectories (find runs the batch before walking into them).
    context = write_context(tmp_path / "ctx", {"Dockerfile": f"""\
FROM python:3.12-slim
RUN mkdir -p /srv/pkg/docs/api/v1 /srv/pkg/docs/howto /srv/lib/docs/img && \\
    find /srv -type d -name docs {action}
"""})
    _reported(context / "Dockerfile", "find-cleanup-errors")
    before = build(context)
    assert not before.ok, before
    assert _vanished(before.log, "/srv/pkg/docs"), before

    _fixed(context / "Dockerfile", "find-cleanup-errors", unsafe=False)
    after = build(context)
    assert after.ok, after
    assert sh(after.image, "find /srv | sort").stdout.split() == ["/srv", "/srv/lib", "/srv/pkg"]


@pytest.mark.parametrize("action", [r"-execdir rm -rf {} \;", "-execdir rm -rf {} +"])
def test_find_cleanup_errors_execdir_fails_on_directories_with_subdirectories(proven: Proven, action: str) -> None:
    proven()


def prove_find_cleanup_errors_batched_nested_matches_fail_past_one_batch(tmp_path: Path) -> None:
    # Claim: the batched -exec rm -rf {} + fails only when matches nest (tests/…/tests) and
    # there are more of them than fit one rm batch (~128 KiB of arguments): rm then deletes
    # a directory find is still walking. Fewer matches pass; -prune passes either way.
    # (BusyBox's 2 MB batches are not built: no Alpine image here.)
    tree = ("python3 -c \"import os; [os.makedirs('/srv/tests/%s_%04d/tests' % ('x' * 150, i)) "
            "for i in range(int(os.environ['N']))]\"")
    def dockerfile(count: int) -> str:
        return f"""\
FROM python:3.12-slim
RUN N={count} {tree} && \\
    find /srv -type d -name tests -exec rm -rf {{}} +
"""
    context = write_context(tmp_path / "ctx", {"Dockerfile": dockerfile(3000)})
    _reported(context / "Dockerfile", "find-cleanup-errors")
    many = build(context)
    assert not many.ok, many
    assert _vanished(many.log, "/srv/tests/"), many
    few = build(write_context(tmp_path / "few", {"Dockerfile": dockerfile(50)}))
    assert few.ok, few  # one batch: the same command passes, which is what makes it rare

    _fixed(context / "Dockerfile", "find-cleanup-errors", unsafe=False)
    after = build(context)
    assert after.ok, after
    assert sh(after.image, "ls -A /srv").stdout == ""


def test_find_cleanup_errors_batched_nested_matches_fail_past_one_batch(proven: Proven) -> None:
    proven()


# --- keep-dist-info ----------------------------------------------------------------------------

PROBE_METADATA = """\
import importlib.metadata as md
for name in ("pyflakes", "six"):
    try:
        print(name, md.version(name))
    except md.PackageNotFoundError:
        print(name, "PackageNotFoundError")
print("entry point:", [ep.value for ep in md.entry_points(group="console_scripts", name="pyflakes")])
import warnings
warnings.simplefilter("ignore")
import pkg_resources
try:
    print("pkg_resources:", pkg_resources.get_distribution("six").version)
except pkg_resources.DistributionNotFound:
    print("pkg_resources: DistributionNotFound")
"""


def prove_keep_dist_info_metadata_lookups_fail_console_scripts_work(tmp_path: Path) -> None:
    # Claim: without *.dist-info, importlib.metadata.version() raises PackageNotFoundError,
    # entry points vanish, pkg_resources lookups fail and pip no longer knows the package;
    # console scripts keep working. The fix (removing the cleanup) brings all of it back.
    context = write_context(tmp_path / "ctx", {
        "Dockerfile": f"""\
FROM python:3.12-slim
RUN pip install --no-cache-dir pyflakes==3.2.0 six==1.16.0 && \\
    find {PIP_SITE} -name '*.dist-info' -exec rm -rf {{}} +
COPY probe.py /probe.py
CMD ["pyflakes", "--version"]
""",
        "probe.py": PROBE_METADATA})
    _reported(context / "Dockerfile", "keep-dist-info")
    before = build(context)
    assert before.ok, before
    probe = run(before.image, "python", "/probe.py")
    assert probe.stdout.splitlines() == [
        "pyflakes PackageNotFoundError", "six PackageNotFoundError", "entry point: []",
        "pkg_resources: DistributionNotFound"], probe
    assert "not found: six" in run(before.image, "pip", "show", "six").stderr.lower().replace("package(s) ", "")
    assert run(before.image).stdout.startswith("3.2.0")  # console scripts keep working

    text = _fixed(context / "Dockerfile", "keep-dist-info", unsafe=False)
    assert "dist-info" not in text
    after = build(context)
    assert after.ok, after
    assert run(after.image, "python", "/probe.py").stdout.splitlines() == [
        "pyflakes 3.2.0", "six 1.16.0", "entry point: ['pyflakes.api:main']", "pkg_resources: 1.16.0"]
    assert run(after.image, "pip", "show", "six").returncode == 0
    assert run(after.image).stdout.startswith("3.2.0")


def test_keep_dist_info_metadata_lookups_fail_console_scripts_work(proven: Proven) -> None:
    proven()


def prove_keep_dist_info_find_delete_fails_not_empty(tmp_path: Path) -> None:
    # Claim: `find … -name '*.dist-info' -delete` stops with "Directory not empty" and fails
    # the RUN (it is reported rather than made to "work"); the fix removes it.
    context = write_context(tmp_path / "ctx", {"Dockerfile": f"""\
FROM python:3.12-slim
RUN pip install --no-cache-dir six==1.16.0 && \\
    find {PIP_SITE} -name '*.dist-info' -delete
"""})
    _reported(context / "Dockerfile", "keep-dist-info")
    before = build(context)
    assert not before.ok, before
    assert "Directory not empty" in before.log

    _fixed(context / "Dockerfile", "keep-dist-info", unsafe=False)
    after = build(context)
    assert after.ok, after
    version = run(after.image, "python", "-c", "import importlib.metadata as m; print(m.version('six'))")
    assert version.stdout == "1.16.0\n", version


def test_keep_dist_info_find_delete_fails_not_empty(proven: Proven) -> None:
    proven()


# --- masked-failure ----------------------------------------------------------------------------

MISSING = "termcolor==0.0.404"
"""A requirement no index has: pip fails with "No matching distribution found" (one request)."""


def prove_masked_failure_unscoped_or_true_swallows_failed_install(tmp_path: Path) -> None:
    # Claim: `install && find … 2>/dev/null || true && …` is `((install && find) || true) && …`:
    # the failed install is swallowed, the image is built without its dependency and fails
    # at run time. Scoping the tolerance (unsafe fix) makes the build fail on the install.
    context = write_context(tmp_path / "ctx", {"Dockerfile": f"""\
FROM python:3.12-slim
RUN pip install --no-cache-dir {MISSING} && \\
    find {PIP_SITE} -type d -name tests -prune -exec rm -rf {{}} + 2>/dev/null || true && \\
    echo "cleanup done"
CMD ["python", "-c", "import termcolor"]
"""})
    _reported(context / "Dockerfile", "masked-failure")
    before = build(context, no_cache=True)  # the log of a step that ran
    assert before.ok, before
    assert "No matching distribution found for termcolor==0.0.404" in before.log
    assert "cleanup done" in before.log
    result = run(before.image)
    assert result.returncode == 1 and "No module named 'termcolor'" in result.stderr, result

    text = _fixed(context / "Dockerfile", "masked-failure", unsafe=True)
    assert "{ find" in text and "|| true; }" in text
    after = build(context)
    assert not after.ok, after
    assert "No matching distribution found for termcolor==0.0.404" in after.log


def test_masked_failure_unscoped_or_true_swallows_failed_install(proven: Proven) -> None:
    proven()


def prove_masked_failure_heredoc_without_set_e_passes_on_last_line(tmp_path: Path) -> None:
    # Claim: a RUN heredoc without `set -e` has the status of its last line: a failed
    # install on line 1 passes the build. The fix adds `set -e`.
    context = write_context(tmp_path / "ctx", {"Dockerfile": f"""\
FROM python:3.12-slim
RUN <<EOF
pip install --no-cache-dir {MISSING}
echo "installed"
EOF
"""})
    _reported(context / "Dockerfile", "masked-failure")
    before = build(context, no_cache=True)  # the log of a step that ran
    assert before.ok, before
    assert "No matching distribution found" in before.log
    assert run(before.image, "python", "-c", "import termcolor").returncode == 1

    text = _fixed(context / "Dockerfile", "masked-failure", unsafe=True)
    assert "<<EOF\nset -e\n" in text
    after = build(context)
    assert not after.ok, after
    assert "No matching distribution found" in after.log


def test_masked_failure_heredoc_without_set_e_passes_on_last_line(proven: Proven) -> None:
    proven()


# --- masked-install-failure --------------------------------------------------------------------

def prove_masked_install_failure_image_ships_without_the_package(tmp_path: Path) -> None:
    # Claim: `pip install X || echo "…"` builds an image without X, which fails only at run
    # time; the unsafe fix removes the tolerance and the build fails on the install.
    context = write_context(tmp_path / "ctx", {"Dockerfile": f"""\
FROM python:3.12-slim
RUN pip install --no-cache-dir {MISSING} || echo "termcolor not available via pip"
CMD ["python", "-c", "import termcolor; print('ok')"]
"""})
    _reported(context / "Dockerfile", "masked-install-failure")
    before = build(context, no_cache=True)
    assert before.ok, before
    assert "termcolor not available via pip" in before.log
    result = run(before.image)
    assert result.returncode == 1 and "No module named 'termcolor'" in result.stderr, result

    text = _fixed(context / "Dockerfile", "masked-install-failure", unsafe=True)
    assert "||" not in text
    after = build(context)
    assert not after.ok, after
    assert "No matching distribution found for termcolor==0.0.404" in after.log


def test_masked_install_failure_image_ships_without_the_package(proven: Proven) -> None:
    proven()


def prove_masked_install_failure_optional_requirements_stay_optional(tmp_path: Path, extra: str | None) -> None:
    # Claim: for a requirements file the context may not send, the fix keeps the file
    # optional and only the install strict: without the file the build still passes, a good
    # file is installed, a failing install now fails the build (it passed before).
    files: dict[str, str] = {
        "Dockerfile": """\
FROM python:3.12-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -r requirements-extra.txt 2>/dev/null || true
CMD ["python", "app.py"]
""",
        "app.py": "try:\n    import six\n    print('six', six.__version__)\nexcept ImportError:\n    print('no six')\n",
    }
    if extra is not None:
        files["requirements-extra.txt"] = extra
    context = write_context(tmp_path / "ctx", files)
    _reported(context / "Dockerfile", "masked-install-failure")
    before = build(context)
    assert before.ok, before  # whatever the file says
    answer = run(before.image).stdout

    text = _fixed(context / "Dockerfile", "masked-install-failure", unsafe=True)
    assert "if [ -f requirements-extra.txt ]" in text
    after = build(context)
    if extra == f"{MISSING}\n":
        assert answer == "no six\n"
        assert not after.ok, after
        assert "No matching distribution found for termcolor==0.0.404" in after.log
    else:
        assert after.ok, after
        assert run(after.image).stdout == answer == ("no six\n" if extra is None else "six 1.16.0\n")


@pytest.mark.parametrize("extra", [None, "six==1.16.0\n", f"{MISSING}\n"],
                         ids=["file-absent", "file-installs", "file-fails"])
def test_masked_install_failure_optional_requirements_stay_optional(proven: Proven, extra: str | None) -> None:
    proven()


# --- pip-cache-purge ---------------------------------------------------------------------------

def prove_pip_cache_purge_fails_once_the_cache_is_disabled(tmp_path: Path, value: str) -> None:
    # Claim: with ENV PIP_NO_CACHE_DIR set (any value, 0 and false included) `pip cache
    # purge` exits 1 with "ERROR: pip cache commands can not function since cache is
    # disabled" and the build fails; the fix removes the purge and the build passes.
    context = write_context(tmp_path / "ctx", {"Dockerfile": f"""\
FROM python:3.12-slim
ENV PIP_NO_CACHE_DIR={value}
RUN pip install termcolor==1.1.0 && pip cache purge
"""})
    _reported(context / "Dockerfile", "pip-cache-purge")
    before = build(context)
    assert not before.ok, before
    assert "ERROR: pip cache commands can not function since cache is disabled" in before.log

    text = _fixed(context / "Dockerfile", "pip-cache-purge", unsafe=False)
    assert "pip cache purge" not in text
    after = build(context)
    assert after.ok, after
    assert run(after.image, "python", "-c", "import termcolor").returncode == 0


@pytest.mark.parametrize("value", ["1", "0", "false"])
def test_pip_cache_purge_fails_once_the_cache_is_disabled(proven: Proven, value: str) -> None:
    proven()


def prove_pip_cache_purge_empties_the_cache_mount(tmp_path: Path) -> None:
    # Claim: under a cache mount the purge empties the shared mount: the next build builds
    # (downloads) every wheel again. The fix removes only the purge (no --no-cache-dir).
    mount_id = f"rule-pcp-{uuid.uuid4().hex}"
    bust = _busts(mount_id)
    context = write_context(tmp_path / "ctx", {"Dockerfile": f"""\
FROM python:3.12-slim
ARG BUST
RUN --mount=type=cache,id={mount_id},target=/root/.cache/pip \\
    echo "$BUST" && pip install termcolor==1.1.0 && pip cache purge
"""})
    _reported(context / "Dockerfile", "pip-cache-purge")
    before = build(context, build_args=next(bust))
    assert before.ok, before
    # pip 23.0's purge leaves each wheel's origin.json: no wheel is left to use.
    assert _mount_file_count(tmp_path, mount_id, "*.whl") == 0
    again = build(context, build_args=next(bust))
    assert "Building wheel for termcolor" in again.log

    text = _fixed(context / "Dockerfile", "pip-cache-purge", unsafe=False)
    assert "pip cache purge" not in text and "--no-cache-dir" not in text
    for _ in range(2):
        after = build(context, build_args=next(bust))
        assert after.ok, after
    assert "Using cached termcolor-1.1.0-py3-none-any.whl" in after.log
    assert _mount_file_count(tmp_path, mount_id, "*.whl") == 1


def test_pip_cache_purge_empties_the_cache_mount(proven: Proven) -> None:
    proven()


def prove_pip_cache_purge_offers_no_fix_when_a_later_rm_needs_the_cache(tmp_path: Path, later: str) -> None:
    # Claim: with --no-cache-dir pip never makes /root/.cache, so an `rm -r` of it after the
    # purge (in the same RUN or a later one) would fail the build that works today: the
    # rule reports the purge but offers no fix. The fix it withholds is built to show it.
    dockerfile = ("FROM python:3.12-slim\nRUN pip install termcolor==1.1.0 && pip cache purge"
                  + later)
    context = write_context(tmp_path / "ctx", {"Dockerfile": dockerfile})
    found = _reported(context / "Dockerfile", "pip-cache-purge")
    assert all(item["fix"] is None for item in found), found
    before = build(context)
    assert before.ok, before
    assert apply_fixes(context / "Dockerfile", select="pip-cache-purge", unsafe=True) == dockerfile

    withheld = dockerfile.replace("pip install termcolor", "pip install --no-cache-dir termcolor")
    (context / "Dockerfile").write_text(withheld.replace(" && pip cache purge", ""))
    after = build(context)
    assert not after.ok, after
    assert "/root/.cache" in after.log and "No such file or directory" in after.log


@pytest.mark.parametrize("later", [" && rm -r /root/.cache\n", "\nRUN rm -r /root/.cache\n"],
                         ids=["same-run", "later-run"])
def test_pip_cache_purge_offers_no_fix_when_a_later_rm_needs_the_cache(proven: Proven, later: str) -> None:
    proven()


def prove_pip_cache_purge_no_cache_dir_leaves_the_same_image(tmp_path: Path) -> None:
    # Claim: otherwise the purge deletes what the RUN's installs just wrote; --no-cache-dir
    # (the fix) never writes it: the image has the same packages and no cached wheel either
    # way. (pip 23.0's purge leaves each wheel's origin.json behind; with the fix there is no
    # cache directory at all, so the fixed image has those few bytes fewer, never more.)
    context = write_context(tmp_path / "ctx", {"Dockerfile": """\
FROM python:3.12-slim
RUN pip install termcolor==1.1.0 && pip cache purge
"""})
    _reported(context / "Dockerfile", "pip-cache-purge")
    before = build(context, no_cache=True)
    assert before.ok, before
    assert "Building wheel for termcolor" in before.log
    listing = f"ls {PIP_SITE}; find /root/.cache -name '*.whl' 2>/dev/null | wc -l"
    expected = sh(before.image, listing).stdout
    assert expected.endswith("\n0\n"), expected

    text = _fixed(context / "Dockerfile", "pip-cache-purge", unsafe=False)
    assert "pip install --no-cache-dir termcolor" in text and "pip cache purge" not in text
    after = build(context)
    assert after.ok, after
    assert sh(after.image, listing).stdout == expected
    assert sh(after.image, "test -e /root/.cache/pip || echo absent").stdout == "absent\n"


def test_pip_cache_purge_no_cache_dir_leaves_the_same_image(proven: Proven) -> None:
    proven()


# --- undefined-env-var -------------------------------------------------------------------------

def prove_undefined_env_var_empty_pythonpath_entry_imports_from_the_cwd(tmp_path: Path) -> None:
    # Claim: ENV PYTHONPATH=/app:$PYTHONPATH with PYTHONPATH unset stores "/app:", and Python
    # turns the empty entry into the current directory: a file there shadows an installed
    # package, even under `python -P`. `${X:+:$X}` (the fix) stores "/app".
    # (`docker build --check`'s UndefinedVar is not shown: buildx 0.13 has no --check.)
    context = write_context(tmp_path / "ctx", {
        "Dockerfile": """\
FROM python:3.12-slim
RUN pip install --no-cache-dir six==1.16.0
COPY app /app
RUN mkdir /data && echo 'raise SystemExit("shadowed by /data/six.py")' > /data/six.py
ENV PYTHONPATH=/app:$PYTHONPATH
CMD ["python", "/app/main.py"]
""",
        "app/main.py": "import six\nprint('six from', six.__file__)\n"})
    _reported(context / "Dockerfile", "undefined-env-var")
    before = build(context)
    assert before.ok, before
    assert run(before.image, "printenv", "PYTHONPATH").stdout == "/app:\n"
    assert run(before.image, workdir="/").stdout == f"six from {PIP_SITE}/six.py\n"
    for command in ((), ("python", "-P", "/app/main.py")):
        shadowed = run(before.image, *command, workdir="/data")
        assert shadowed.returncode == 1 and "shadowed by /data/six.py" in shadowed.stderr, shadowed

    text = _fixed(context / "Dockerfile", "undefined-env-var", unsafe=False)
    assert "ENV PYTHONPATH=/app${PYTHONPATH:+:$PYTHONPATH}" in text
    after = build(context)
    assert after.ok, after
    assert run(after.image, "printenv", "PYTHONPATH").stdout == "/app\n"
    for command in ((), ("python", "-P", "/app/main.py")):
        result = run(after.image, *command, workdir="/data")
        assert result.stdout == f"six from {PIP_SITE}/six.py\n", result


def test_undefined_env_var_empty_pythonpath_entry_imports_from_the_cwd(proven: Proven) -> None:
    proven()


# --- user-site-not-on-path ---------------------------------------------------------------------

def prove_user_site_not_on_path_console_script_not_found(tmp_path: Path, shape: str) -> None:
    # Claim: a user-site install (USER app falls back to it; --user as root) puts console
    # scripts in ~/.local/bin, not on PATH: the container fails at start with
    # `exec: "pyflakes": executable file not found in $PATH` although the package imports.
    # The fix puts that directory on PATH.
    setup = ("RUN useradd --create-home app\nUSER app\nRUN pip install --no-cache-dir pyflakes==3.2.0\n"
             if shape == "non-root-user" else "RUN pip install --no-cache-dir --user pyflakes==3.2.0\n")
    context = write_context(tmp_path / "ctx", {"Dockerfile": f"""\
FROM python:3.12-slim
{setup}CMD ["pyflakes", "--version"]
"""})
    _reported(context / "Dockerfile", "user-site-not-on-path")
    before = build(context, no_cache=True)
    assert before.ok, before
    if shape == "non-root-user":
        assert "Defaulting to user installation because normal site-packages is not writeable" in before.log
    result = run(before.image)
    assert result.returncode != 0, result
    assert 'exec: "pyflakes": executable file not found in $PATH' in result.stderr, result
    assert run(before.image, "python", "-c", "import pyflakes").returncode == 0

    text = _fixed(context / "Dockerfile", "user-site-not-on-path", unsafe=False)
    home = "/home/app" if shape == "non-root-user" else "/root"
    assert f"ENV PATH={home}/.local/bin:$PATH" in text
    after = build(context)
    assert after.ok, after
    result = run(after.image)
    assert result.returncode == 0 and result.stdout.startswith("3.2.0"), result


@pytest.mark.parametrize("shape", ["non-root-user", "root-user-flag"])
def test_user_site_not_on_path_console_script_not_found(proven: Proven, shape: str) -> None:
    proven()


# --- venv-relocated ----------------------------------------------------------------------------

def prove_venv_relocated_console_script_exec_no_such_file(tmp_path: Path) -> None:
    # Claim: a venv built at A and copied to B keeps `#!A/bin/python` in its scripts: the
    # container fails with `exec B/bin/<script>: no such file or directory`, bash says
    # "cannot execute: required file not found", while `B/bin/python -m <module>` works.
    # The fix copies it to A and edits PATH to match.
    context = write_context(tmp_path / "ctx", {"Dockerfile": """\
FROM python:3.12-slim AS builder
RUN python -m venv /app/.venv && /app/.venv/bin/pip install --no-cache-dir pyflakes==3.2.0

FROM python:3.12-slim
COPY --from=builder /app/.venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
CMD ["pyflakes", "--version"]
"""})
    _reported(context / "Dockerfile", "venv-relocated")
    before = build(context)
    assert before.ok, before
    result = run(before.image)
    assert result.returncode != 0, result
    assert "exec /opt/venv/bin/pyflakes: no such file or directory" in result.stderr, result
    bash = run(before.image, "bash", "-c", "pyflakes --version")
    assert bash.returncode == 127 and "cannot execute: required file not found" in bash.stderr, bash
    module = run(before.image, "/opt/venv/bin/python", "-m", "pyflakes", "--version")
    assert module.returncode == 0 and module.stdout.startswith("3.2.0"), module

    text = _fixed(context / "Dockerfile", "venv-relocated", unsafe=True)
    assert "COPY --from=builder /app/.venv /app/.venv" in text and "ENV PATH=/app/.venv/bin:$PATH" in text
    after = build(context)
    assert after.ok, after
    result = run(after.image)
    assert result.returncode == 0 and result.stdout.startswith("3.2.0"), result


def test_venv_relocated_console_script_exec_no_such_file(proven: Proven) -> None:
    proven()


# --- verify-imports ----------------------------------------------------------------------------

def prove_verify_imports_user_install_before_user_fails_at_start(tmp_path: Path) -> None:
    # Claim: `pip install --user` as root, then `USER app`: the build passes and the
    # container fails at start with `No module named …` (root's user site, in a /root of
    # mode 700, is not on app's sys.path). The added import check fails the build instead.
    # (This is also why user-site-not-on-path offers no PATH fix for this shape.)
    context = write_context(tmp_path / "ctx", {
        "Dockerfile": """\
FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --user -r requirements.txt
COPY app/ .
RUN useradd --create-home app
USER app
CMD ["python", "main.py"]
""",
        "requirements.txt": "six==1.16.0\n",
        "app/main.py": "import six\nprint('six', six.__version__)\n"})
    _reported(context / "Dockerfile", "verify-imports")
    before = build(context)
    assert before.ok, before
    assert run(before.image, user="root").stdout == "six 1.16.0\n"  # installed, for root
    result = run(before.image)
    assert result.returncode == 1 and "ModuleNotFoundError: No module named 'six'" in result.stderr, result

    text = _fixed(context / "Dockerfile", "verify-imports", unsafe=True)
    assert text.index("USER app") < text.index('RUN python -c "import six"') < text.index("CMD")
    after = build(context)
    assert not after.ok, after
    assert "ModuleNotFoundError: No module named 'six'" in after.log


def test_verify_imports_user_install_before_user_fails_at_start(proven: Proven) -> None:
    proven()


def prove_verify_imports_virtualenv_not_on_path_fails_at_start(tmp_path: Path) -> None:
    # Claim: a venv made by `virtualenv` (whose name does not hold "venv"), installed into by
    # its own pip but not put on PATH: the build passes and `python` of CMD is the image's,
    # without the packages. The added import check fails the build instead.
    context = write_context(tmp_path / "ctx", {
        "Dockerfile": """\
FROM python:3.12-slim
RUN pip install --no-cache-dir virtualenv && virtualenv /opt/env
WORKDIR /app
COPY requirements.txt .
RUN /opt/env/bin/pip install --no-cache-dir -r requirements.txt
COPY main.py .
CMD ["python", "main.py"]
""",
        "requirements.txt": "six==1.16.0\n",
        "main.py": "import six\nprint('six', six.__version__)\n"})
    _reported(context / "Dockerfile", "verify-imports")
    before = build(context)
    assert before.ok, before
    result = run(before.image)
    assert result.returncode == 1 and "ModuleNotFoundError: No module named 'six'" in result.stderr, result

    text = _fixed(context / "Dockerfile", "verify-imports", unsafe=True)
    assert text.index("COPY main.py") < text.index('RUN python -c "import six') < text.index("CMD")
    after = build(context)
    assert not after.ok, after
    assert "ModuleNotFoundError: No module named 'six'" in after.log


def test_verify_imports_virtualenv_not_on_path_fails_at_start(proven: Proven) -> None:
    proven()
