"""Which environment an install writes to, and which one a command's interpreter reads."""

from __future__ import annotations

import pytest

from dfmod.semantic.environments import SYSTEM, install_environment, program_environment
from dfmod.semantic.tools import tool_call
from dfmod.syntax.dockerfile import Dockerfile, readable_scripts


@pytest.mark.parametrize(("program", "path", "expected"), [
    ("/opt/venv/bin/pip", None, "/opt/venv"),
    ("/usr/local/bin/python3", None, SYSTEM),
    ("pip", "/opt/venv/bin:/usr/local/bin:/usr/bin", "/opt/venv"),
    ("python", "/usr/local/bin:/usr/bin", SYSTEM),
    ("python", None, None),
])
def test_program_environment(program: str, path: str | None, expected: str | None) -> None:
    assert program_environment(program, {"PATH": path} if path else {}) == expected


@pytest.mark.parametrize(("lines", "expected"), [
    ("RUN pip3 install frappe-bench", SYSTEM),
    ("ENV PATH=/srv/env/bin:$PATH\nRUN pip install gunicorn", "/srv/env"),
    ("RUN /srv/env/bin/python -m pip install gunicorn", "/srv/env"),
    ("ENV VIRTUAL_ENV=/opt/venv\nRUN uv pip install fastapi", "/opt/venv"),
    ("ENV VIRTUAL_ENV=/opt/venv\nRUN uv pip install --system fastapi", SYSTEM),
    ("WORKDIR /app\nRUN uv sync --frozen", "/app/.venv"),
    ("WORKDIR /app\nENV POETRY_VIRTUALENVS_CREATE=false\nRUN poetry install", SYSTEM),
    ("WORKDIR /app\nENV POETRY_VIRTUALENVS_IN_PROJECT=true\nRUN poetry install", "/app/.venv"),
    ("RUN poetry install", None),
])
def test_install_environment(lines: str, expected: str | None) -> None:
    doc = Dockerfile(f"FROM python:3.12-slim\n{lines}\n")
    run = doc.instructions[-1]
    (script,) = readable_scripts(doc, run)
    call = next(call for call in map(tool_call, script.commands) if call is not None and call.is_install)
    assert install_environment(doc, run, call) == expected
