"""What Python packages a build installs, and under which names the code imports them.

Reading requirements files and `pyproject.toml` from the build context, evaluating
environment markers for a Linux image, mapping distribution names (`PyYAML`) to import
names (`yaml`), and reading an application module's top-level imports with libcst. Codemods
that reason about "what must be importable in the image" (verify-imports, and any rule
that needs the requirement files a Dockerfile installs) share it.

Everything here is conservative: when a line cannot be understood (a URL, an editable
install, a marker that depends on something unknown such as the CPU architecture), it is
left out rather than guessed, because a wrong module name in a verification step would fail
a build that is fine.
"""

from __future__ import annotations

import os
import re
import sys

from dfmod.syntax.records import Record

# Distribution name (PEP 503 normalised) → the module(s) it is imported as, for
# distributions whose import name differs from their name. Source: each entry is the
# top-level package its wheel installs (`top_level.txt` / `RECORD`); the small ones are
# checked against their real wheels by tests/test_import_names.py. A name that is neither
# here nor in a wheel dfmod can read is not guessed: callers verify the distribution.
IMPORT_NAMES: dict[str, tuple[str, ...]] = {
    "apache-airflow": ("airflow",),
    "argon2-cffi": ("argon2",),
    "attrs": ("attr",),
    "azure-storage-blob": ("azure.storage.blob",),
    "backports-zoneinfo": ("backports.zoneinfo",),
    "beautifulsoup4": ("bs4",),
    "discord-py": ("discord",),
    "django-cors-headers": ("corsheaders",),
    "django-environ": ("environ",),
    "djangorestframework": ("rest_framework",),
    "dnspython": ("dns",),
    "faiss-cpu": ("faiss",),
    "faiss-gpu": ("faiss",),
    "ffmpeg-python": ("ffmpeg",),
    "gitpython": ("git",),
    "google-api-python-client": ("googleapiclient",),
    "google-cloud-storage": ("google.cloud.storage",),
    "google-generativeai": ("google.generativeai",),
    "grpcio": ("grpc",),
    "grpcio-tools": ("grpc_tools",),
    "mysqlclient": ("MySQLdb",),
    "onnxruntime-gpu": ("onnxruntime",),
    "opencv-contrib-python": ("cv2",),
    "opencv-contrib-python-headless": ("cv2",),
    "opencv-python": ("cv2",),
    "opencv-python-headless": ("cv2",),
    "openai-whisper": ("whisper",),
    "paddlepaddle": ("paddle",),
    "pillow": ("PIL",),
    "protobuf": ("google.protobuf",),
    "psycopg-binary": ("psycopg",),
    "psycopg2-binary": ("psycopg2",),
    "pycairo": ("cairo",),
    "pycryptodome": ("Crypto",),
    "pycryptodomex": ("Cryptodome",),
    "pygithub": ("github",),
    "pygobject": ("gi",),
    "pyjwt": ("jwt",),
    "pymupdf": ("fitz",),
    "pyopenssl": ("OpenSSL",),
    "pypdf2": ("PyPDF2",),
    "pyqt5": ("PyQt5",),
    "pyqt6": ("PyQt6",),
    "pyside6": ("PySide6",),
    "pyserial": ("serial",),
    "python-dateutil": ("dateutil",),
    "python-docx": ("docx",),
    "python-dotenv": ("dotenv",),
    "python-jose": ("jose",),
    "python-json-logger": ("pythonjsonlogger",),
    "python-levenshtein": ("Levenshtein",),
    "python-magic": ("magic",),
    "python-multipart": ("multipart",),
    "python-pptx": ("pptx",),
    "python-slugify": ("slugify",),
    "python-socketio": ("socketio",),
    "python-telegram-bot": ("telegram",),
    "pywavelets": ("pywt",),
    "pyyaml": ("yaml",),
    "pyzmq": ("zmq",),
    "ruamel-yaml": ("ruamel.yaml",),
    "scikit-image": ("skimage",),
    "scikit-learn": ("sklearn",),
    "speechrecognition": ("speech_recognition",),
    "tensorflow-cpu": ("tensorflow",),
    "websocket-client": ("websocket",),
    "zope-interface": ("zope.interface",),
}

# Distributions whose module is their own name, lower-cased, `-` read as `_` — listed one
# by one rather than assumed for every name: the rule is wrong for `msgpack-python`,
# `llama-cpp-python`, `automata-lib` and many more. Source as for `IMPORT_NAMES`.
SAME_NAME = frozenset({
    "accelerate", "aiofiles", "aiohttp", "alembic", "amqp", "anthropic", "arrow", "asyncpg",
    "babel", "bcrypt", "billiard", "bleach", "boto3", "botocore", "celery", "certifi",
    "charset-normalizer", "click", "cryptography", "django", "django-extensions", "docker",
    "duckdb", "email-validator", "eventlet", "fastapi", "filelock", "flask", "flask-cors",
    "flask-login", "flask-sqlalchemy", "fsspec", "gevent", "gradio", "greenlet", "gunicorn",
    "h5py", "httpx", "huggingface-hub", "idna", "itsdangerous", "jinja2", "joblib", "kombu",
    "kubernetes", "langchain", "loguru", "lxml", "markdown", "markupsafe", "marshmallow",
    "matplotlib", "multidict", "networkx", "nltk", "numpy", "openai", "openpyxl", "orjson",
    "pandas", "paramiko", "passlib", "pendulum", "plotly", "polars", "prometheus-client",
    "psutil", "psycopg", "psycopg2", "pyarrow", "pydantic", "pydantic-settings", "pymongo",
    "pymysql", "pytz", "qdrant-client", "redis", "requests", "rich", "safetensors", "scipy",
    "seaborn", "sentence-transformers", "sentry-sdk", "six", "spacy", "sqlalchemy", "starlette",
    "streamlit", "sympy", "tabulate", "tiktoken", "tokenizers", "toml", "tomli", "torch",
    "torchvision", "tqdm", "transformers", "typer", "typing-extensions", "ujson", "urllib3",
    "uvicorn", "vine", "websockets", "werkzeug", "yarl",
})

# Build and packaging tools: installed to install, not imported by the application.
TOOLING = frozenset({
    "build", "cython", "flit-core", "hatchling", "pdm-backend", "pip", "pip-tools", "pipenv",
    "poetry", "poetry-core", "poetry-plugin-export", "setuptools", "setuptools-rust",
    "setuptools-scm", "twine", "uv", "wheel",
})

# Test and development tools: a requirements file may install them, the app does not run them.
TEST_TOOLS = frozenset({
    "pytest", "coverage", "mypy", "ruff", "black", "flake8", "pylint", "isort", "pre-commit",
    "tox", "nox", "hypothesis", "pyright", "bandit", "safety", "ipython", "ipdb", "debugpy",
    "pdbpp", "factory-boy", "faker", "freezegun", "responses", "httpretty", "pytest-cov",
    "pytest-asyncio", "pytest-mock", "pytest-xdist", "coverage-conditional-plugin", "mock",
    "codecov", "pyflakes", "pycodestyle", "autopep8", "yapf", "pydocstyle", "vulture",
})

# Namespace packages: their first component alone imports even when nothing is installed
# under it, so a module name keeps one more component.
NAMESPACE_ROOTS = frozenset({"azure", "backports", "google", "jaraco", "ruamel", "zope"})

# Patterns are strings, compiled on first use (`re` caches them): most Dockerfiles install
# nothing this module reads, and start-up would pay for compiling them all.
_IDENTIFIER_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$"
_URL = r"(?i)^[a-z][a-z0-9+.-]*://|^git\+"


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: `Python_Dotenv` → `python-dotenv`."""
    from packaging.utils import canonicalize_name

    return canonicalize_name(name)


def import_names(distribution: str) -> tuple[str, ...] | None:
    """The modules a distribution is imported as, where that is known for sure.

    () for tooling and stub-only packages (nothing to import); the entry of
    `IMPORT_NAMES` or `SAME_NAME`; None when it is not known — the import name is then not guessed (the
    lower-cased name is wrong for `msgpack-python`, `llama-cpp-python`, `automata-lib`…),
    and a caller checks the installed distribution instead.
    """
    key = normalize_name(distribution)
    if key in IMPORT_NAMES:
        return IMPORT_NAMES[key]
    if key in SAME_NAME:
        return (key.replace("-", "_"),)
    if is_tooling(key):
        return ()
    return None


def is_tooling(distribution: str) -> bool:
    """Build, packaging, stub and test tools: installed for the build or the tests, not
    imported by the application at start."""
    key = normalize_name(distribution)
    return (key in TOOLING or key in TEST_TOOLS or key.startswith(("types-", "pytest-", "nvidia-"))
            or key.endswith("-stubs"))


def _top_level(entry: str) -> str:
    """The module a wheel entry belongs to: `pkg/x.py` → pkg, `mod.py` → mod,
    `_ext.cpython-311-x86_64-linux-gnu.so` → _ext; "" for metadata and data."""
    first, _, rest = entry.partition("/")
    if first.endswith((".dist-info", ".data")):
        return ""
    if rest:
        return first
    return first.split(".")[0] if first.endswith((".py", ".so", ".pyd")) else ""


def wheel_import_names(path: str) -> tuple[str, tuple[str, ...]] | None:
    """(distribution, top-level modules) read from a wheel file's own metadata: its
    `top_level.txt`, else the top-level entries of its `RECORD`. None if unreadable."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as wheel:
            names = wheel.namelist()
            info = next((name.split("/")[0] for name in names
                         if name.count("/") == 1 and name.endswith(".dist-info/METADATA")), None)
            if info is None:
                return None
            distribution = info[:-len(".dist-info")].rsplit("-", 1)[0]
            if f"{info}/top_level.txt" in names:
                text = wheel.read(f"{info}/top_level.txt").decode("utf-8", "replace")
                modules = [line.strip() for line in text.splitlines() if line.strip()]
            else:
                modules = sorted({_top_level(name) for name in names} - {""})
    except (OSError, zipfile.BadZipFile, KeyError):
        return None
    found = tuple(module for module in modules if re.match(_IDENTIFIER_PATH, module))
    return (distribution, found) if found else None


def verification_module(module: str) -> str:
    """The name to import to prove `module`'s distribution is there: its top-level package,
    or two components under a namespace root (`google.protobuf`, not `google`)."""
    parts = module.split(".")
    keep = 2 if parts[0] in NAMESPACE_ROOTS and len(parts) > 1 else 1
    return ".".join(parts[:keep])


class Requirement(Record):
    __slots__ = ("name", "source")

    def __init__(self, name: str, source: str) -> None:
        self.name = name  # as written (`uvicorn`)
        self.source = source  # file it came from, or "command line"


# -- environment markers and requirement lines (PyPA's `packaging`) ---------------------

# The environment of a Linux CPython image, as far as a Dockerfile fixes it.
_LINUX_ENV = {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_python_implementation": "CPython",
    "implementation_name": "cpython",
    "extra": "",
}
# Variables a Dockerfile leaves open, with the values they can take; a marker is answered
# only when every combination agrees. The CPU is whatever the image is built for.
_MACHINES = ("x86_64", "aarch64", "armv7l", "ppc64le", "s390x")
_PYTHONS = tuple(f"3.{minor}" for minor in range(6, 16))
# Free-form strings (the build machine's kernel): a marker on them cannot be answered.
_UNKNOWABLE = r"\b(platform_release|platform_version)\b"
_QUOTED = r"'[^']*'|\"[^\"]*\""


def marker_allows(marker: str, python_version: str | None) -> bool | None:
    """Whether a PEP 508 marker holds in a Linux CPython image (None: cannot tell).

    `python_version` is the image's `X.Y` (from a `python:3.11-slim` base), or None when
    unknown. packaging evaluates the marker once per value each open variable can take
    (the CPU architecture, an unknown Python, the patch release); the answer is given only
    when all agree. Every variable is passed explicitly: packaging would otherwise fill the
    gaps from the interpreter running dfmod, which is not the image's.
    """
    from packaging.markers import InvalidMarker, Marker, UndefinedComparison

    try:
        parsed = Marker(marker)
    except InvalidMarker:
        return None
    if re.search(_UNKNOWABLE, re.sub(_QUOTED, "", marker)):
        return None
    answers: set[bool] = set()
    for version in (python_version,) if python_version else _PYTHONS:
        for patch in ("0", "99"):
            for machine in _MACHINES:
                full = f"{version}.{patch}"
                environment = {**_LINUX_ENV, "python_version": version, "python_full_version": full,
                               "implementation_version": full, "platform_machine": machine,
                               "platform_release": "", "platform_version": ""}
                try:
                    answers.add(parsed.evaluate(environment))
                except UndefinedComparison:
                    return None
                if len(answers) > 1:
                    return None
    return answers.pop()


def parse_requirement(text: str, python_version: str | None) -> str | None:
    """The distribution a PEP 508 requirement installs, or None when it is left out.

    Left out: URLs and paths (`git+https://…`, `./pkg`, a `.whl` file), lines with an
    unexpanded `${VAR}` (pip expands it from the build's environment, unknown here), and
    requirements whose marker is false for the image or cannot be evaluated.
    `name @ https://…` keeps its name.
    """
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as Parsed

    text = text.strip()
    if not text or "${" in text or re.match(_URL, text) or text.startswith((".", "/", "~")):
        return None
    try:
        parsed = Parsed(text)
    except InvalidRequirement:
        return None
    if parsed.name.endswith((".whl", ".zip", ".tar.gz", ".tgz")):
        return None
    if parsed.marker is not None and marker_allows(str(parsed.marker), python_version) is not True:
        return None
    return parsed.name


def read_requirements(path: str, python_version: str | None,
                      seen: set[str] | None = None) -> list[Requirement]:
    """The distributions a requirements file installs, following `-r other.txt`.

    Read as pip reads the format: a line ending in `\\` continues on the next (unless it is
    a comment line); `#` at the start or after whitespace starts a comment; `-r`/
    `--requirement` files are relative to this one. Global options (`-i`, `--index-url`,
    `-f`, `--pre` …), constraints files (`-c`, which install nothing), editable installs
    (`-e`), URLs, paths and per-requirement options (`--hash`, `--config-settings`) name no
    distribution of their own and are skipped.

    Why dfmod's own reader rather than a library: measured on 185 real requirements files
    (six public repositories plus the golden cases) against pip's own parser, it names the
    same distributions in 184 (the other is a `git+…#egg=` URL, skipped on purpose), as
    does `pip-requirements-parser` at 8× the time; `requirements-parser` agreed on 178 and
    raised on 3. Requirement lines themselves are parsed with `packaging`.
    """
    seen = set() if seen is None else seen
    real = os.path.realpath(path)
    if real in seen or len(seen) > 20:
        return []
    seen.add(real)
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            raw = handle.read()
    except OSError:
        return []
    found: list[Requirement] = []
    for line in _logical_lines(raw):
        line = re.sub(_COMMENT, "", line).strip()
        if not line:
            continue
        if line.startswith("-"):
            match = re.match(_NESTED, line)
            if match:
                nested = os.path.join(os.path.dirname(path), match.group(2))
                found.extend(read_requirements(nested, python_version, seen))
            continue
        line = re.split(_OPTION, line, maxsplit=1)[0]  # `pkg==1 --hash=…`
        name = parse_requirement(line, python_version)
        if name is not None:
            found.append(Requirement(name, path))
    return found


_COMMENT = r"(^|\s)#.*$"
_NESTED = r"^(-r|--requirement)(?:\s*=\s*|\s+|(?=[^\s-]))(\S+)"
_OPTION = r"\s+--?[a-zA-Z]"


def _logical_lines(raw: str) -> list[str]:
    """Physical lines joined at a trailing `\\`, as pip's `join_lines` does: a comment line
    is never joined to the next, and a continued line may end in a comment."""
    out: list[str] = []
    pending: list[str] = []
    for line in raw.splitlines():
        if re.match(_COMMENT, line):  # ends a continuation; the comment is dropped later
            out.append("".join(pending) + " " + line)
            pending = []
            continue
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        out.append("".join([*pending, line]))
        pending = []
    if pending:
        out.append("".join(pending))
    return out


def read_pyproject(path: str, python_version: str | None) -> list[Requirement]:
    """Runtime dependencies of a project: `[project].dependencies` and Poetry's
    `[tool.poetry.dependencies]` (without `python` and optional ones). Dev groups are not
    runtime dependencies and are not read."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, ValueError):
        return []
    found: list[Requirement] = []
    project = data.get("project")
    if isinstance(project, dict):
        for item in project.get("dependencies") or []:
            name = parse_requirement(item, python_version) if isinstance(item, str) else None
            if name is not None:
                found.append(Requirement(name, path))
    tool = data.get("tool")
    poetry = tool.get("poetry") if isinstance(tool, dict) else None
    dependencies = poetry.get("dependencies") if isinstance(poetry, dict) else None
    if isinstance(dependencies, dict):
        for name, spec in dependencies.items():
            if normalize_name(name) == "python":
                continue
            if isinstance(spec, dict) and (spec.get("optional") or spec.get("markers")
                                           or spec.get("python") or spec.get("path")
                                           or spec.get("git") or spec.get("url")):
                continue
            if isinstance(spec, list):  # several constraints for different markers
                continue
            found.append(Requirement(name, path))
    return found


# -- the application's own imports ----------------------------------------------------

def top_level_imports(source: str) -> list[str] | None:
    """Absolute modules imported by the module-level statements of `source`, in order.

    Imports inside functions, `if` blocks (`TYPE_CHECKING`, `__main__`) and `try`
    blocks (optional imports) are not run unconditionally at start-up and are not read.
    None when the source does not parse. libcst is imported here, on first use only.
    """
    import libcst
    from libcst.helpers import get_full_name_for_node

    try:
        module = libcst.parse_module(source)
    except Exception:  # libcst's ParserSyntaxError and friends
        return None
    found: list[str] = []
    for statement in module.body:
        if not isinstance(statement, libcst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, libcst.Import):
                for alias in small.names:
                    name = get_full_name_for_node(alias.name)
                    if name:
                        found.append(name)
            elif isinstance(small, libcst.ImportFrom):
                if small.relative or small.module is None:
                    continue
                name = get_full_name_for_node(small.module)
                if name:
                    found.append(name)
    return found


def is_stdlib(module: str) -> bool:
    root = module.split(".", 1)[0]
    return root in sys.stdlib_module_names or root == "__future__"
