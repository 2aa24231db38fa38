"""user-site-not-on-path: where a real Python puts user-site scripts, and whether real bash finds them.

`python -m site --user-base` (with the user's HOME) + `/bin` is where `pip install --user`
(or pip's fallback as a non-root user) writes console scripts. A script placed there is
not found on the default PATH, and is found with the PATH of the fixed Dockerfile.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dfmod.linting.engine import Settings, check, fix
from dfmod.linting.registry import all_codemods
from dfmod.semantic.state import DEFAULT_PATH, env_at
from dfmod.syntax.dockerfile import Dockerfile

SETTINGS = Settings([all_codemods()["user-site-not-on-path"]])


def _user_base(home: Path) -> str:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUSERBASE"}
    # The exit status says whether the user site is *enabled* (not in a venv such as the
    # test runner's); the printed base is the same either way.
    result = subprocess.run([sys.executable, "-m", "site", "--user-base"], env={**env, "HOME": str(home)},
                            capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout.strip()


def _finds(path: str, name: str) -> bool:
    result = subprocess.run(["bash", "-c", f"command -v {name}"], env={"PATH": path},
                            capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip().endswith(f"/{name}")


def test_user_site_scripts_are_found_only_with_the_fixed_path(tmp_path: Path) -> None:
    home = tmp_path / "home" / "app"
    home.mkdir(parents=True)
    original = (
        "FROM python:3.12-slim\n"
        f"RUN useradd --create-home --home-dir {home} app\n"
        "USER app\n"
        "RUN pip install uvicorn\n"
        'CMD ["uvicorn", "main:app"]\n'
    )
    fixed = fix(Dockerfile(original), SETTINGS).text
    assert fixed != original

    # Where a real Python puts user-site scripts for this user.
    scripts = Path(_user_base(home)) / "bin"
    assert scripts == home / ".local" / "bin"
    scripts.mkdir(parents=True)
    script = scripts / "uvicorn"
    script.write_text("#!/bin/sh\necho serving\n")
    script.chmod(0o755)

    def image_path(text: str) -> str:
        doc = Dockerfile(text)
        cmd = doc.instructions[-1]
        path = env_at(doc, cmd, inclusive=True)["PATH"]
        assert path is not None
        return path

    assert image_path(original) == DEFAULT_PATH
    assert not _finds(image_path(original), "uvicorn")  # CMD ["uvicorn"] cannot start
    assert image_path(fixed).split(":")[0] == str(scripts)
    assert _finds(image_path(fixed), "uvicorn")
    result = subprocess.run(["bash", "-c", "uvicorn"], env={"PATH": image_path(fixed)},
                            capture_output=True, text=True)
    assert result.stdout == "serving\n"


def test_root_user_base_is_root_local(tmp_path: Path) -> None:
    """Seed 003: `pip install --user` as root writes to /root/.local/bin."""
    assert _user_base(Path("/root")) == "/root/.local"
    fixed = fix(Dockerfile('FROM python:3.11-slim\nRUN pip install --user gpt-load\nCMD ["gpt-load"]\n'),
                SETTINGS).text
    assert "\nENV PATH=/root/.local/bin:$PATH\n" in fixed


COPIED_VENV = """\
FROM python:3.12-slim AS builder
RUN python -m venv {venv}
FROM python:3.12-slim
COPY --from=builder {venv} {venv}
ENV PATH="{path}"
RUN useradd --create-home app
USER app
RUN pip install uvicorn
CMD ["uvicorn", "main:app"]
"""


def test_a_venv_first_on_path_takes_the_install(tmp_path: Path) -> None:
    """A venv's `bin` first on PATH — here a venv copied in from another stage — means `pip`
    is the venv's: a real pip, resolved by a real bash, installs into the venv and writes
    nothing to the user base; `--user` there is refused. Not reported. The same venv after
    the system directories on a python image loses to the system's pip: reported."""
    from wheels import build_wheel

    venv, home, wheels = tmp_path / "opt" / "venv", tmp_path / "home" / "app", tmp_path / "wheels"
    home.mkdir(parents=True)
    wheels.mkdir()
    build_wheel(wheels, "uvicorn", "0.1", {  # a stand-in with the real one's console script
        "uvicorn.py": "def main():\n    print('serving')\n",
        "uvicorn-0.1.dist-info/entry_points.txt": "[console_scripts]\nuvicorn = uvicorn:main\n"})
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    first = COPIED_VENV.format(venv=venv, path=f"{venv}/bin:$PATH")
    assert check(Dockerfile(first), [all_codemods()["user-site-not-on-path"]()]) == []

    path = f"{venv}/bin:{DEFAULT_PATH}"
    env = {"PATH": path, "HOME": str(home), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    which = subprocess.run(["bash", "-c", "command -v pip"], env=env, capture_output=True,
                           text=True, check=True)
    assert which.stdout.strip() == f"{venv}/bin/pip"
    result = subprocess.run(["bash", "-c", "pip install uvicorn"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (venv / "bin" / "uvicorn").exists() and not (home / ".local").exists()
    refused = subprocess.run(["bash", "-c", "pip install --user uvicorn"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "virtualenv" in refused.stderr

    last = COPIED_VENV.format(venv=venv, path=f"$PATH:{venv}/bin")
    [finding] = check(Dockerfile(last), [all_codemods()["user-site-not-on-path"]()])
    assert finding.message.startswith("pip installs `uvicorn` into /home/app/.local/bin as `app`")
