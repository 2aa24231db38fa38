"""A generator of realistic Dockerfiles, composed from the parts that make them hard.

`generate(seed)` returns one Dockerfile text; the same seed always gives the same text.
Parts: parser directives (syntax, escape with backslash or backtick), multi-stage builds,
long install chains over continuation lines with inner comment lines and blank lines,
cleanup `find` commands, masks (`|| true`), heredocs of every form, exec and shell form,
cache mounts, non-root users, ENV in both syntaxes, CRLF line endings and a BOM.
"""

from __future__ import annotations

import random

BASES = ["python:3.11-slim", "python:3.12", "debian:bookworm", "alpine:3.20",
         "ghcr.io/astral-sh/uv:python3.12-bookworm-slim"]
INSTALLS = [
    "pip install --no-cache-dir -r requirements.txt",
    "pip install -r requirements.txt",
    "python -m pip install --upgrade pip",
    "pip3 install --no-cache-dir uvicorn fastapi",
    "/opt/venv/bin/pip install --no-cache-dir -r requirements.txt",
    "uv pip install --system --no-cache -r requirements.txt",
    "uv sync --frozen --no-cache",
    "poetry install --only=main --no-root",
    "PIP_NO_CACHE_DIR=1 pip install gunicorn",
    "apt-get update",
    "apt-get install -y --no-install-recommends curl",
    "pip install gpt-load || echo \"not available via pip\"",
    "pip cache purge",
]
CLEANUPS = [
    'find /app/.venv -type d -name "tests" -exec rm -rf {} + 2>/dev/null || true',
    'find /app/.venv -type d -name "__pycache__" -exec rm -rf {} +',
    'find /app/.venv -type f -name "*.pyc" -delete',
    'find /app/.venv -type d -name "*.dist-info" -exec rm -rf {} +',
    "rm -rf /var/lib/apt/lists/*",
    'rm -rf "$POETRY_CACHE_DIR"',
]
# A Dockerfile no rule reports: what start-up is measured on (bench/run.py) and tested with
# (tests/test_startup.py).
CLEAN = """FROM python:3.12-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
CMD ["python", "-m", "app"]
"""
COMMENTS = ["# install the app's dependencies", "#   indented note", "# 安装依赖", "#"]
MOUNTS = ["--mount=type=cache,target=/root/.cache/pip", "--mount=type=cache,target=/root/.cache",
          "--mount=type=cache,target=/root/.cache/uv", "--mount=type=bind,source=.,target=/src"]


def _chain(rng: random.Random, escape: str) -> list[str]:
    commands = [rng.choice(INSTALLS) for _ in range(rng.randint(1, 4))]
    commands += [rng.choice(CLEANUPS) for _ in range(rng.randint(0, 3))]
    rng.shuffle(commands)
    trailing = rng.random() < 0.8
    lines: list[str] = []
    for index, command in enumerate(commands):
        last = index == len(commands) - 1
        if index and rng.random() < 0.2:
            lines.append("    " + rng.choice(COMMENTS))
        if index and rng.random() < 0.05:
            lines.append("")  # an empty continuation line (BuildKit skips it)
        pad = rng.choice([" ", " ", "  ", "\t"]) if rng.random() < 0.2 else " "
        if trailing:
            lines.append(("    " if index else "") + command + ("" if last else f" &&{pad}{escape}"))
        else:
            prefix = "    && " if index else ""
            lines.append(prefix + command + ("" if last else f"{pad}{escape}"))
    return lines


def _run(rng: random.Random, escape: str) -> list[str]:
    flags = " ".join(rng.sample(MOUNTS, rng.randint(0, 2)))
    head = "RUN " + (flags + " " if flags else "")
    kind = rng.random()
    if kind < 0.15:
        marker = rng.choice(["EOF", "EOT", "'EOF'", '"EOF"'])
        name = marker.strip("'\"")
        body = _chain(rng, "\\")
        body = [line.rstrip(" \t\\&") for line in body if line]
        if rng.random() < 0.5:
            body.insert(0, "set -eux")
        return [head + "<<" + marker, *body, name]
    if kind < 0.2:
        return [head + '["pip", "install", "--no-cache-dir", "flask"]']
    lines = _chain(rng, escape)
    if flags and rng.random() < 0.5:
        return [head.rstrip() + f" {escape}", *("    " + line.lstrip() for line in lines)]
    return [head + lines[0], *lines[1:]]


def generate(seed: int) -> str:
    """One Dockerfile, fully determined by `seed`."""
    rng = random.Random(seed)
    escape = "`" if rng.random() < 0.1 else "\\"
    lines: list[str] = []
    if rng.random() < 0.3:
        lines.append("# syntax=docker/dockerfile:1")
    if escape == "`":
        lines.append("# escape=`")
    stages = rng.randint(1, 3)
    for stage in range(stages):
        name = f"stage{stage}"
        lines.append(f"FROM {rng.choice(BASES)}" + (f" AS {name}" if stage < stages - 1 else ""))
        if rng.random() < 0.5:
            lines.append("WORKDIR /app")
        if rng.random() < 0.3:
            lines.append(rng.choice(["ENV PYTHONPATH=/app:$PYTHONPATH", "ENV PIP_NO_CACHE_DIR=1",
                                     "ENV PATH=\"/opt/venv/bin:$PATH\"", "ENV LEGACY value here"]))
        if rng.random() < 0.3:
            lines += ["RUN useradd -m -u 1000 app", "USER app"]
        if rng.random() < 0.4:
            lines.append("COPY . .")
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.2:
                lines.append(rng.choice(COMMENTS))
            if rng.random() < 0.2:
                lines.append("")
            lines += _run(rng, escape)
        if stage:
            lines.append(f"COPY --from=stage{stage - 1} /app/.venv /opt/venv")
    lines.append(rng.choice(['CMD ["uvicorn", "main:app", "--host", "0.0.0.0"]',
                             "CMD python app.py", 'ENTRYPOINT ["python", "-u", "app.py"]']))
    newline = "\r\n" if rng.random() < 0.15 else "\n"
    text = newline.join(lines)
    if rng.random() < 0.9:
        text += newline
    if rng.random() < 0.05:
        text = "\ufeff" + text
    return text


def large(instructions: int, seed: int = 0) -> str:
    """One Dockerfile of exactly `instructions` instructions, made of the same parts.

    A new stage every 500 instructions, built `FROM` the one before (so lineages are long),
    and between RUNs the instructions whose effect later ones depend on — ENV, ARG, WORKDIR,
    USER, SHELL, COPY — so every per-instruction question (environment, working directory,
    user, shell) is asked of a long history. For the cost-against-size benchmark and test.
    """
    rng = random.Random(seed)
    lines = ["# syntax=docker/dockerfile:1", "ARG BASE=python:3.12-slim"]
    count = 0
    stage = 0
    while count < instructions - 1:
        if count % 500 == 0:
            lines.append(f"FROM {'$BASE' if stage == 0 else f'stage{stage - 1}'} AS stage{stage}")
            stage += 1
        else:
            kind = rng.random()
            if kind < 0.05:
                lines.append(rng.choice(["ENV PYTHONPATH=/app:$PYTHONPATH", "ENV PIP_NO_CACHE_DIR=1",
                                         'ENV PATH="/opt/venv/bin:$PATH"', f"ENV STEP={count}",
                                         f"ARG VERSION_{count}=1"]))
            elif kind < 0.08:
                lines.append(rng.choice(["WORKDIR /app", "WORKDIR src", "WORKDIR /app/$STEP"]))
            elif kind < 0.10:
                lines += rng.choice([["USER app"], ["USER root"], ['SHELL ["/bin/bash", "-c"]']])
            elif kind < 0.12:
                lines.append(rng.choice(["COPY . .", "COPY requirements.txt ./"]))
            else:
                lines += _run(rng, "\\")
        count += 1
    lines.append('CMD ["uvicorn", "main:app", "--host", "0.0.0.0"]')
    return "\n".join(lines) + "\n"
