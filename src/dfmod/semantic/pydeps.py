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
from dataclasses import dataclass

# Distribution name (PEP 503 normalised) → the module(s) it is imported as. Only names
# whose import differs from the fallback `lowercase, "-" → "_"` need an entry.
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

# Build and packaging tools: installed to install, not imported by the application.
TOOLING = frozenset({
    "build", "cython", "flit-core", "hatchling", "pdm-backend", "pip", "pip-tools", "pipenv",
    "poetry", "poetry-core", "poetry-plugin-export", "setuptools", "setuptools-rust",
    "setuptools-scm", "twine", "uv", "wheel",
})

# Namespace packages: their first component alone imports even when nothing is installed
# under it, so a module name keeps one more component.
NAMESPACE_ROOTS = frozenset({"azure", "backports", "google", "jaraco", "ruamel", "zope"})

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?")
_IDENTIFIER_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^git\+", re.IGNORECASE)


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: `Python_Dotenv` → `python-dotenv`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def import_names(distribution: str) -> tuple[str, ...]:
    """The modules a distribution is imported as; () for tooling and stub-only packages.

    Known differences come from `IMPORT_NAMES`; otherwise the sound fallback for a
    distribution is its name lower-cased with `-` and `.` read as `_` (`Flask-Login` →
    `flask_login`), which is how nearly every package on PyPI names its module.
    """
    key = normalize_name(distribution)
    if key in IMPORT_NAMES:
        return IMPORT_NAMES[key]
    if key in TOOLING or key.startswith("types-") or key.endswith("-stubs") or key.startswith(
            "nvidia-"):
        return ()
    module = key.replace("-", "_")
    return (module,) if _IDENTIFIER_PATH.match(module) else ()


def verification_module(module: str) -> str:
    """The name to import to prove `module`'s distribution is there: its top-level package,
    or two components under a namespace root (`google.protobuf`, not `google`)."""
    parts = module.split(".")
    keep = 2 if parts[0] in NAMESPACE_ROOTS and len(parts) > 1 else 1
    return ".".join(parts[:keep])


@dataclass(frozen=True)
class Requirement:
    name: str  # as written (`uvicorn`)
    source: str  # file it came from, or "command line"


# -- environment markers ---------------------------------------------------------------

_MARKER_TOKEN = re.compile(
    r"\s*(?:(?P<str>'[^']*'|\"[^\"]*\")|(?P<op>===|==|!=|<=|>=|~=|<|>|\(|\))"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))")
_LINUX_ENV = {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "platform_python_implementation": "CPython",
    "implementation_name": "cpython",
    "extra": "",
}


def marker_allows(marker: str, python_version: str | None) -> bool | None:
    """Whether a PEP 508 marker holds in a Linux CPython image (None: cannot tell).

    `python_version` is the image's `X.Y` (from a `python:3.11-slim` base), or None when
    unknown; markers on the CPU architecture or unknown variables are undetermined.
    """
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(marker):
        match = _MARKER_TOKEN.match(marker, position)
        if match is None or match.end() == position:
            if marker[position:].strip() == "":
                break
            return None
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    env: dict[str, str] = dict(_LINUX_ENV)
    if python_version:
        env["python_version"] = python_version
    parser = _MarkerParser(tokens, env)
    try:
        value = parser.expression()
    except (IndexError, ValueError):
        return None
    return value if parser.index == len(tokens) else None


class _MarkerParser:
    """Recursive descent over `or` / `and` / comparisons, with three-valued logic."""

    def __init__(self, tokens: list[tuple[str, str]], env: dict[str, str]) -> None:
        self.tokens = tokens
        self.env = env
        self.index = 0

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def expression(self) -> bool | None:
        value = self.conjunction()
        while self._peek() == ("word", "or"):
            self.index += 1
            right = self.conjunction()
            value = True if value is True or right is True else (
                None if value is None or right is None else False)
        return value

    def conjunction(self) -> bool | None:
        value = self.atom()
        while self._peek() == ("word", "and"):
            self.index += 1
            right = self.atom()
            value = False if value is False or right is False else (
                None if value is None or right is None else True)
        return value

    def atom(self) -> bool | None:
        if self._peek() == ("op", "("):
            self.index += 1
            value = self.expression()
            if self._peek() != ("op", ")"):
                raise ValueError("unbalanced parenthesis")
            self.index += 1
            return value
        left = self.operand()
        kind, op = self.tokens[self.index]
        self.index += 1
        if (kind, op) == ("word", "not"):
            if self.tokens[self.index] != ("word", "in"):
                raise ValueError("expected 'in'")
            self.index += 1
            op = "not in"
        elif kind == "word" and op != "in":
            raise ValueError(f"unexpected {op}")
        right = self.operand()
        return _compare(left, op, right)

    def operand(self) -> tuple[str, str | None]:
        kind, text = self.tokens[self.index]
        self.index += 1
        if kind == "str":
            return "literal", text[1:-1]
        if kind == "word":
            return text, self.env.get(text)
        raise ValueError(f"unexpected {text}")


def _version(text: str) -> tuple[int, ...] | None:
    parts = text.strip().split(".")
    return tuple(int(part) for part in parts) if all(part.isdigit() for part in parts) else None


def _compare(left: tuple[str, str | None], op: str, right: tuple[str, str | None]) -> bool | None:
    if left[1] is None or right[1] is None:
        return None
    a, b = left[1], right[1]
    if op == "in":
        return a in b
    if op == "not in":
        return a not in b
    versions = {"python_version", "python_full_version"}
    if left[0] in versions or right[0] in versions:
        x, y = _version(a), _version(b)
        if x is None or y is None:
            return None
        if op == "~=":
            return None
        length = max(len(x), len(y))
        x, y = x + (0,) * (length - len(x)), y + (0,) * (length - len(y))
        return {"==": x == y, "===": x == y, "!=": x != y, "<": x < y, "<=": x <= y,
                ">": x > y, ">=": x >= y}.get(op)
    if op in ("==", "==="):
        return a == b
    if op == "!=":
        return a != b
    return None


# -- requirement files and pyproject.toml ------------------------------------------------

def parse_requirement(text: str, python_version: str | None) -> str | None:
    """The distribution a PEP 508 requirement installs, or None when it is left out.

    Left out: URLs and paths (`git+https://…`, `./pkg`), and requirements whose marker
    is false for the image or cannot be evaluated. `name @ https://…` keeps its name.
    """
    text = text.strip()
    if not text or _URL.match(text) or text.startswith((".", "/", "~")):
        return None
    requirement, _, marker = text.partition(";")
    if marker.strip() and marker_allows(marker.strip(), python_version) is not True:
        return None
    match = _NAME.match(requirement)
    if match is None:
        return None
    name = match.group(1)
    if name.endswith((".whl", ".zip", ".tar.gz")) or "/" in requirement.split("@")[0]:
        return None
    return name


def read_requirements(path: str, python_version: str | None,
                      seen: set[str] | None = None) -> list[Requirement]:
    """The distributions a requirements file installs, following `-r other.txt`.

    Options (`--index-url`, `--hash` …), constraints files (`-c`, which install nothing),
    editable installs (`-e`) and URLs are skipped; line continuations are joined.
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
    for line in re.sub(r"\\\r?\n", " ", raw).splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line:
            continue
        if line.startswith("-"):
            match = re.match(r"^(-r|--requirement)(?:\s*=\s*|\s+|(?=[^\s-]))(\S+)", line)
            if match:
                nested = os.path.join(os.path.dirname(path), match.group(2))
                found.extend(read_requirements(nested, python_version, seen))
            continue
        line = re.split(r"\s+--?[a-z]", line, maxsplit=1)[0]  # `pkg==1 --hash=…`
        name = parse_requirement(line, python_version)
        if name is not None:
            found.append(Requirement(name, path))
    return found


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
