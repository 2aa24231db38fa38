"""verify-imports: the tables it relies on, and the verification it adds, run for real.

The behaviour tests take the `RUN` the fix adds, read it back through dfmod's own model, and
run it with real bash against a real virtualenv (and a real user site): it must fail with
`No module named …` while a package is missing for that interpreter or user, and pass once
the package is there. Without the fix there is no such step, and nothing fails at build time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from dfmod.codemods.verify_imports import VerifyImports, _imported_by
from dfmod.linting.engine import Settings, check, fix
from dfmod.semantic.pydeps import (
    import_names,
    marker_allows,
    read_pyproject,
    read_requirements,
    top_level_imports,
)
from dfmod.semantic.runtime import describe
from dfmod.syntax.dockerfile import Dockerfile, run_scripts

ROOT = Path(__file__).resolve().parent.parent
# The incident's Dockerfile, with one way for the packages to miss CMD's interpreter: they
# are installed with `--user` as root, and CMD runs as `app`.
SEED = ROOT / "golden" / "verify-imports" / "seed-000-user" / "input"


# -- tables ------------------------------------------------------------------------------

@pytest.mark.parametrize(("distribution", "module"), [
    ("PyYAML", "yaml"), ("python-dotenv", "dotenv"), ("beautifulsoup4", "bs4"),
    ("Pillow", "PIL"), ("scikit-learn", "sklearn"), ("opencv-python", "cv2"),
    ("opencv-python-headless", "cv2"), ("python-multipart", "multipart"),
    ("psycopg2-binary", "psycopg2"), ("protobuf", "google.protobuf"), ("PyJWT", "jwt"),
    ("python_dateutil", "dateutil"), ("attrs", "attr"), ("grpcio", "grpc"),
    ("mysqlclient", "MySQLdb"), ("pycryptodome", "Crypto"), ("pyOpenSSL", "OpenSSL"),
    ("PyMuPDF", "fitz"), ("faiss-cpu", "faiss"), ("python-jose", "jose"),
    ("scikit-image", "skimage"), ("pyzmq", "zmq"), ("PyPDF2", "PyPDF2"),
    ("ruamel.yaml", "ruamel.yaml"), ("djangorestframework", "rest_framework"),
    ("google-cloud-storage", "google.cloud.storage"), ("dnspython", "dns"),
    ("websocket-client", "websocket"), ("GitPython", "git"), ("pyserial", "serial"),
    # listed as importing under their own name
    ("Flask-Login", "flask_login"), ("SQLAlchemy", "sqlalchemy"), ("uvicorn", "uvicorn"),
    ("typing_extensions", "typing_extensions"), ("Jinja2", "jinja2"),
])
def test_import_names(distribution: str, module: str) -> None:
    assert import_names(distribution) == (module,)


@pytest.mark.parametrize("distribution", [
    # what lower-casing the name would get wrong: automata, llama_cpp, msgpack
    "automata-lib", "llama-cpp-python", "msgpack-python",
    # and what it would get right, but only by luck: no guess either way
    "some-unlisted-distribution", "pyinstaller",
])
def test_unknown_import_names_are_not_guessed(distribution: str) -> None:
    assert import_names(distribution) is None


@pytest.mark.parametrize("distribution", ["pip", "setuptools", "wheel", "types-requests",
                                          "pandas-stubs", "poetry-core", "nvidia-cudnn-cu12"])
def test_tooling_is_not_imported(distribution: str) -> None:
    assert import_names(distribution) == ()


@pytest.mark.parametrize(("marker", "version", "expected"), [
    ('sys_platform == "win32"', "3.11", False),
    ("sys_platform == 'linux'", "3.11", True),
    ('python_version < "3.11"', "3.10", True),
    ('python_version < "3.11"', "3.11", False),
    ('python_version >= "3.8" and platform_system != "Windows"', "3.12", True),
    ('python_version < "3.8" or os_name == "posix"', None, True),
    ('python_version < "3.8"', None, None),
    ("platform_machine == 'x86_64'", "3.12", None),
    ('extra == "dev"', "3.12", False),
    ('(sys_platform == "darwin" or sys_platform == "linux") and python_version > "3.9"',
     "3.10", True),
    ("garbage ==", "3.12", None),
])
def test_markers(marker: str, version: str | None, expected: bool | None) -> None:
    assert marker_allows(marker, version) is expected


def test_requirements_file(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("requests>=2 # http\n")
    (tmp_path / "requirements.txt").write_text(textwrap.dedent("""\
        # comment
        -r base.txt
        -c constraints.txt
        --index-url https://example.org/simple
        uvicorn[standard]==0.30 \\
            --hash=sha256:00
        -e git+https://github.com/x/y.git#egg=y
        ./local-wheel.whl
        https://example.org/pkg.tar.gz
        pkg @ https://example.org/pkg-1.0.tar.gz
        pywin32; sys_platform == "win32"
        tomli; python_version < "3.11"
        """))
    names = [item.name for item in read_requirements(str(tmp_path / "requirements.txt"), "3.12")]
    assert names == ["requests", "uvicorn", "pkg"]


def test_pyproject_project_and_poetry(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(textwrap.dedent("""\
        [project]
        name = "x"
        dependencies = ["fastapi>=0.100", "uvloop; sys_platform == 'win32'"]
        [tool.poetry.dependencies]
        python = "^3.11"
        celery = {extras = ["redis"], version = "^5"}
        boto3 = {version = "*", optional = true}
        [tool.poetry.group.dev.dependencies]
        pytest = "*"
        """))
    assert [item.name for item in read_pyproject(str(path), "3.12")] == ["fastapi", "celery"]


def test_top_level_imports_with_libcst() -> None:
    source = textwrap.dedent("""\
        import os, a.b as ab
        from c.d import e
        from . import local
        try:
            import optional
        except ImportError:
            optional = None
        def f():
            import lazy
        """)
    assert top_level_imports(source) == ["os", "a.b", "c.d"]
    assert top_level_imports("def (:\n") is None


def test_libcst_is_imported_lazily() -> None:
    code = ("import sys, dfmod.codemods.verify_imports, dfmod.semantic.pydeps, dfmod.semantic.runtime; "
            "assert 'libcst' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("argv", "interpreter", "script", "modules", "apps", "files"), [
    (["uvicorn", "main:app", "--port", "80"], None, "uvicorn", ["uvicorn"], ["main"], []),
    (["/opt/venv/bin/gunicorn", "-k", "uvicorn.workers.UvicornWorker", "app.main:app"],
     "/opt/venv/bin/python", "/opt/venv/bin/gunicorn", ["gunicorn", "uvicorn"],
     ["app.main"], []),
    (["python", "-m", "uvicorn", "svc.api:app"], "python", None, ["uvicorn"], ["svc.api"], []),
    (["python3", "-u", "app.py"], "python3", None, [], [], ["app.py"]),
    (["tini", "--", "celery", "--app=proj", "worker"], None, "celery", ["celery"], ["proj"], []),
    (["streamlit", "run", "ui.py"], None, "streamlit", ["streamlit"], [], ["ui.py"]),
    (["gosu", "app", "python", "-m", "mypkg"], "python", None, ["mypkg"], [], []),
])
def test_describe(argv: list[str], interpreter: str | None, script: str | None,
                  modules: list[str], apps: list[str], files: list[str]) -> None:
    command = describe(argv)
    assert command is not None
    assert (command.interpreter, command.script, command.modules, command.app_modules,
            command.app_files) == (interpreter, script, modules, apps, files)


def test_describe_ignores_non_python() -> None:
    assert describe(["nginx", "-g", "daemon off;"]) is None


def test_imported_by_reads_every_import() -> None:
    assert _imported_by("import a.b, c; from d.e import f; print(1)") == {
        "a", "a.b", "c", "d", "d.e"}


# -- placement and idempotency ----------------------------------------------------------

def _fixed(text: str, directory: Path, options: dict | None = None) -> str:
    path = directory / "Dockerfile"
    path.write_text(text)
    settings = Settings([VerifyImports], unsafe_fixes=True,
                        options={"verify-imports": options or {}})
    return fix(Dockerfile(text, str(path)), settings).text


def test_goes_after_the_last_user_and_copy_from(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("fastapi\n")
    text = textwrap.dedent("""\
        FROM python:3.12 AS build
        RUN pip install --prefix=/install -r requirements.txt
        FROM python:3.12-slim
        COPY --from=build /install /usr/local
        USER nobody
        EXPOSE 80
        CMD ["python", "-m", "uvicorn", "main:app"]
        """)
    fixed = _fixed(text, tmp_path)
    assert fixed.splitlines()[5] == 'RUN python -c "import fastapi, uvicorn"'
    assert fixed.splitlines()[4] == "USER nobody"


def test_partial_verification_adds_only_the_missing(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("fastapi\nuvicorn\nredis\n")
    text = textwrap.dedent("""\
        FROM python:3.12-slim
        RUN pip install --user -r requirements.txt
        USER app
        RUN python -c "import fastapi"
        CMD ["python", "-m", "uvicorn", "main:app"]
        """)
    fixed = _fixed(text, tmp_path)
    assert 'RUN python -c "import redis, uvicorn"' in fixed.splitlines()
    assert _fixed(fixed, tmp_path) == fixed


def test_options_and_read_app(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import numpy\n")
    text = ('FROM python:3.12-slim\nRUN pip install --target /deps numpy\nENV PYTHONPATH=/deps\n'
            'CMD ["python", "app.py"]\n')
    assert 'import numpy' in _fixed(text, tmp_path)
    fixed = _fixed('FROM python:3.12-slim\nRUN pip install celery || true\nCMD ["python", "app.py"]\n',
                   tmp_path, {"read-app": False, "modules": ["uvloop"], "scripts": ["celery"]})
    assert fixed.splitlines()[2] == 'RUN python -c "import celery, uvloop" && celery --version'


def test_bare_script_on_a_distro_image_uses_python3(tmp_path: Path) -> None:
    text = ('FROM debian:12\nRUN apt-get update && apt-get install -y python3-pip '
            '&& pip3 install --break-system-packages --user uvicorn\nUSER app\nCMD ["uvicorn", "main:app"]\n')
    assert 'RUN python3 -c "import uvicorn" && uvicorn --version' in _fixed(text, tmp_path)


def test_unquotable_interpreter_is_reported_without_fix(tmp_path: Path) -> None:
    text = ('FROM python:3.12 AS build\nRUN pip install --prefix /install uvicorn\nFROM python:3.12\n'
            'COPY --from=build /install /usr/local\nCMD ["/opt/my venv/bin/python", "-m", "uvicorn", "m:app"]\n')
    path = tmp_path / "Dockerfile"
    findings = check(Dockerfile(text, str(path)), [VerifyImports()])
    assert len(findings) == 1 and findings[0].fix is None


# -- behaviour with real tools ------------------------------------------------------------

def _verification(text: str) -> str:
    """The shell of the verification RUN, read back through dfmod's model."""
    doc = Dockerfile(text)
    found = []
    for instruction in doc.final_stage.instructions:
        for script in run_scripts(doc, instruction):
            if any(command.argv[1:2] == ["-c"] for command in script.commands):
                found.append(instruction.args.text)
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


def _site_packages(venv: Path) -> Path:
    found = list(venv.glob("lib/python*/site-packages"))
    assert len(found) == 1
    return found[0]


def _stub(site: Path, module: str) -> None:
    package = site
    for part in module.split("."):
        package = package / part
        package.mkdir(exist_ok=True)
        (package / "__init__.py").write_text("__version__ = '0'\n")


def _bash(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env,
                          timeout=60)


def test_verification_fails_until_the_venv_has_the_packages(venv: Path, tmp_path: Path) -> None:
    original = (SEED / "Dockerfile").read_text()
    settings = Settings([VerifyImports], unsafe_fixes=True)
    fixed = fix(Dockerfile(original, str(SEED / "Dockerfile")), settings).text
    with pytest.raises(AssertionError):
        _verification(original)  # without the fix, nothing would fail at build time
    command = _verification(fixed)
    assert command.startswith('python -c "import ') and command.endswith("uvicorn --version")
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin", "HOME": str(tmp_path)}

    result = _bash(command, env)
    assert result.returncode != 0
    assert "No module named 'cv2'" in result.stderr  # the first missing module

    modules = command.split('"import ', 1)[1].split('"', 1)[0].split(", ")
    site = _site_packages(venv)
    for module in modules[:-1]:
        _stub(site, module)
    result = _bash(command, env)
    assert result.returncode != 0 and f"No module named '{modules[-1]}'" in result.stderr

    _stub(site, modules[-1])
    script = venv / "bin" / "uvicorn"  # a console script, as pip writes it
    script.write_text(f"#!{venv}/bin/python\nimport uvicorn\nprint('Running uvicorn 0')\n")
    script.chmod(0o755)
    result = _bash(command, env)
    assert result.returncode == 0, result.stderr
    assert "Running uvicorn" in result.stdout


def test_verification_as_another_user_misses_roots_user_site(tmp_path: Path) -> None:
    """`pip install --user` as root, then `USER app`: the packages sit in root's user site,
    which the app user's Python never looks at. The verification runs as that user."""
    text = textwrap.dedent("""\
        FROM python:3.12-slim
        RUN pip install --user fastapi
        USER app
        CMD ["python", "-c", "pass"]
        """)
    fixed = _fixed(text, tmp_path, {"modules": ["fastapi"]})
    command = _verification(fixed)
    lines = fixed.splitlines()
    assert lines.index("USER app") < lines.index("RUN " + command)
    python = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    version = sysconfig.get_python_version()
    root_home, app_home = tmp_path / "root", tmp_path / "app"
    user_site = root_home / ".local" / "lib" / f"python{version}" / "site-packages"
    user_site.mkdir(parents=True)
    app_home.mkdir()
    _stub(user_site, "fastapi")
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python").symlink_to(python)
    base = {"PATH": f"{shim}:/usr/bin:/bin"}

    as_root = _bash(command, {**base, "HOME": str(root_home)})
    assert as_root.returncode == 0, as_root.stderr
    as_app = _bash(command, {**base, "HOME": str(app_home)})
    assert as_app.returncode != 0 and "No module named 'fastapi'" in as_app.stderr


def test_cli_fix_is_idempotent_on_the_seed(tmp_path: Path) -> None:
    for item in SEED.iterdir():
        (tmp_path / item.name).write_bytes(item.read_bytes())
    dfmod = [str(Path(sys.executable).parent / "dfmod")]
    if not os.path.exists(dfmod[0]):
        pytest.skip("dfmod console script not installed next to this interpreter")
    args = ["apply", "--fix", "--unsafe-fixes", "--select", "verify-imports", str(tmp_path)]
    subprocess.run(dfmod + args, capture_output=True, check=False)
    first = (tmp_path / "Dockerfile").read_text()
    assert "uvicorn --version" in first
    subprocess.run(dfmod + args, capture_output=True, check=False)
    assert (tmp_path / "Dockerfile").read_text() == first


# -- certain misses, reproduced with real interpreters, pip and uv --------------------------

def _base_python() -> Path:
    """A real interpreter outside any venv (user sites are off inside one)."""
    return Path(getattr(sys, "_base_executable", sys.executable)).resolve()


def _another_python() -> Path | None:
    """A real interpreter of another minor version than this one, if the machine has one
    (on PATH, in /usr/bin or /usr/local/bin, or in pyenv's versions)."""
    candidates = [Path(found) for minor in range(8, 16)
                  if (found := shutil.which(f"python3.{minor}")) is not None]
    for directory in (Path("/usr/bin"), Path("/usr/local/bin"), *sorted(
            (Path.home() / ".pyenv" / "versions").glob("3.*/bin"))):
        candidates += sorted(directory.glob("python3.[0-9]*"))
    for candidate in candidates:
        if not re.fullmatch(r"python3\.\d+", candidate.name):
            continue
        real = subprocess.run([str(candidate), "-c", "import sys; print(sys.version_info[1], "
                               "sys.executable)"], capture_output=True, text=True, timeout=60)
        minor, _, executable = real.stdout.strip().partition(" ")
        if real.returncode == 0 and minor != str(sys.version_info.minor) and executable:
            return Path(executable)
    return None


def _stand_in_wheel(directory: Path, name: str) -> Path:
    from wheels import build_wheel

    directory.mkdir(exist_ok=True)
    build_wheel(directory, name, "1.0", {f"{name}.py": "VALUE = 1\n"})
    return directory


def _message(text: str, directory: Path) -> str:
    path = directory / "Dockerfile"
    path.write_text(text)
    [finding] = check(Dockerfile(text, str(path)), [VerifyImports()])
    assert len(finding.message) <= 150, finding.message
    return finding.message


USER_BASE = """\
FROM python:3.12-slim AS build
COPY requirements.txt .
RUN pip install --user --no-cache-dir -r requirements.txt

FROM python:3.12-slim
COPY --from=build /root/.local {destination}
{user}CMD ["python", "-c", "pass"]
"""


def test_a_user_base_copied_to_another_home_is_not_read(tmp_path: Path) -> None:
    """`pip install --user` as root writes /root/.local; copied to /home/app/.local while CMD
    runs as root (or to /root/.local for `USER app`), the interpreter does not read it. Real
    pip writes the user base, real Python reads only the one of its HOME."""
    (tmp_path / "requirements.txt").write_text("fastapi\n")
    to_app = USER_BASE.format(destination="/home/app/.local", user="")
    assert _message(to_app, tmp_path) == (
        "line 6 copies a user base to /home/app/.local, but CMD's user `root` reads "
        "/root/.local: `python` cannot import `fastapi`")
    to_root = USER_BASE.format(destination="/root/.local", user="RUN useradd -m app\nUSER app\n")
    assert "copies a user base to /root/.local, but CMD's user `app` reads /home/app/.local" in (
        _message(to_root, tmp_path))
    right = USER_BASE.format(destination="/home/app/.local", user="RUN useradd -m app\nUSER app\n")
    assert "user base" not in _message(right, tmp_path)  # read there: only the generic exposure
    command = _verification(_fixed(to_app, tmp_path))
    assert command == 'python -c "import fastapi"'

    wheels = _stand_in_wheel(tmp_path / "wheels", "fastapi")
    build_root = tmp_path / "build" / "root"
    build_root.mkdir(parents=True)
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python").symlink_to(_base_python())
    base = {"PATH": f"{shim}:/usr/bin:/bin", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    install = _bash(f"python -m pip install --user --no-index --find-links {wheels} fastapi",
                    {**base, "HOME": str(build_root)})
    assert install.returncode == 0, install.stderr
    written = build_root / ".local"
    assert list(written.glob("lib/python*/site-packages/fastapi.py"))

    final_root, app_home = tmp_path / "final" / "root", tmp_path / "final" / "home" / "app"
    final_root.mkdir(parents=True)
    app_home.mkdir(parents=True)
    subprocess.run(["cp", "-a", str(written), str(app_home / ".local")], check=True)  # the COPY
    as_root = _bash(command, {**base, "HOME": str(final_root)})
    assert as_root.returncode != 0 and "No module named 'fastapi'" in as_root.stderr
    assert _bash(command, {**base, "HOME": str(app_home)}).returncode == 0


UV_SYSTEM = """\
FROM python:3.12-slim
COPY --from=ghcr.io/astral-sh/uv:0.5.4 /uv /usr/local/bin/uv
RUN uv venv /opt/venv
ENV VIRTUAL_ENV=/opt/venv PATH="/opt/venv/bin:$PATH"
COPY requirements.txt .
RUN uv pip install --system --no-cache -r requirements.txt
CMD ["python", "-c", "pass"]
"""


def test_uv_system_install_skips_the_venv_on_path(tmp_path: Path) -> None:
    """`uv pip install --system` with a venv first on PATH (and VIRTUAL_ENV set): uv skips
    interpreters of virtual environments, as its documentation says, and installs into the
    system Python's environment; the venv CMD's `python` runs stays empty. Real uv, with
    `--dry-run` so the system Python is left as it is."""
    uv = pytest.importorskip("uv").find_uv_bin()
    (tmp_path / "requirements.txt").write_text("fastapi\n")
    assert _message(UV_SYSTEM, tmp_path) == (
        "line 6 runs `uv pip install --system`, which skips the venv /opt/venv on PATH: "
        "`python` cannot import `fastapi`")
    assert _verification(_fixed(UV_SYSTEM, tmp_path)) == 'python -c "import fastapi"'
    plain = UV_SYSTEM.replace("--system ", "")
    (tmp_path / "Dockerfile").write_text(plain)
    assert check(Dockerfile(plain, str(tmp_path / "Dockerfile")), [VerifyImports()]) == []

    wheels = _stand_in_wheel(tmp_path / "wheels", "fastapi")
    env = {**os.environ, "UV_OFFLINE": "1", "UV_NO_CACHE": "1", "UV_PYTHON_DOWNLOADS": "never"}
    venv = tmp_path / "opt" / "venv"
    subprocess.run([uv, "venv", "--python", str(_base_python()), str(venv)], check=True,
                   capture_output=True, env=env, timeout=120)
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python3").symlink_to(_base_python())
    env.update(PATH=f"{venv}/bin:{shim}:/usr/bin:/bin", VIRTUAL_ENV=str(venv))
    args = [uv, "pip", "install", "--dry-run", "--no-index", "--find-links", str(wheels),
            "fastapi"]
    system = subprocess.run([*args[:3], "--system", "--break-system-packages", *args[3:]],
                            capture_output=True, text=True, env=env, timeout=120)
    assert system.returncode == 0, system.stderr
    assert f"environment at: {sys.base_prefix}" in system.stderr and str(venv) not in system.stderr
    into_venv = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    assert f"environment at: {venv}" in into_venv.stderr
    check_run = _bash('python -c "import fastapi"', env)
    assert check_run.returncode != 0 and "No module named 'fastapi'" in check_run.stderr


FOREIGN_VENV = """\
FROM python:3.12-slim AS builder
RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

FROM {final}
{setup}COPY --from=builder /opt/venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
CMD ["python3", "-c", "pass"]
"""


def test_a_venv_copied_onto_another_interpreter(tmp_path: Path) -> None:
    """A venv's `bin/python3` is a symlink to the interpreter that made it (python:3.12's
    /usr/local/bin/python3). On Debian the link dangles: its own path cannot start, and a
    bare `python3` on PATH falls through to the system's, which has no venv packages. On
    Python 3.11 the link resolves, but 3.11 reads `lib/python3.11/site-packages`."""
    (tmp_path / "requirements.txt").write_text("fastapi\n")
    debian = FOREIGN_VENV.format(final="debian:bookworm-slim", setup=(
        "RUN apt-get update && apt-get install -y --no-install-recommends python3 \\\n"
        " && rm -rf /var/lib/apt/lists/*\n"))
    assert _message(debian, tmp_path) == (
        "line 10 copies a venv tied to /usr/local/bin's Python, which "
        "`debian:bookworm-slim` lacks: `python3` cannot import `fastapi`")
    older = FOREIGN_VENV.format(final="python:3.11-slim", setup="")
    assert _message(older, tmp_path).startswith(
        "line 8 copies a venv built for Python 3.12 onto Python 3.11:")
    same = FOREIGN_VENV.format(final="python:3.12-slim", setup="")
    assert "copies packages from `builder`" in _message(same, tmp_path)
    with_python = debian.replace("COPY --from=builder /opt/venv", "COPY --from=builder /usr/local "
                                 "/usr/local\nCOPY --from=builder /opt/venv")
    assert "lacks" not in _message(with_python, tmp_path)

    builder_bin = tmp_path / "builder" / "usr" / "local" / "bin"
    builder_bin.mkdir(parents=True)
    (builder_bin / "python3").symlink_to(_base_python())
    venv = tmp_path / "opt" / "venv"
    subprocess.run([str(builder_bin / "python3"), "-m", "venv", "--without-pip", str(venv)],
                   check=True, timeout=120)
    assert os.readlink(venv / "bin" / "python3") == str(builder_bin / "python3")
    _stub(_site_packages(venv), "fastapi")
    command = _verification(_fixed(debian, tmp_path))
    env = {"PATH": f"{venv}/bin:/usr/bin:/bin"}
    assert _bash(command, env).returncode == 0  # in the builder, where the link resolves
    (builder_bin / "python3").unlink()  # the final image has no /usr/local/bin/python3
    with pytest.raises(FileNotFoundError):
        subprocess.run([str(venv / "bin" / "python3"), "-c", "pass"])
    if Path("/usr/bin/python3").exists():  # a bare python3 falls through to the system's
        fell_through = _bash(command, env)
        assert fell_through.returncode != 0 and "No module named 'fastapi'" in fell_through.stderr

    other = _another_python()
    if other is None:
        return  # no second Python version on this machine for the version half
    (builder_bin / "python3").symlink_to(other)  # the same path, another Python
    moved = _bash(command, env)
    assert moved.returncode != 0 and "No module named 'fastapi'" in moved.stderr
