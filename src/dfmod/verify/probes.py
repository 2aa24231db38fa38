"""Probes: cheap checks in the built images that show what a fix changes.

Each runs in the image built before the fixes and in the one built after them, with `docker
run --rm --network=none` (or, for the cache, as a second build), and says what it saw on
each side. Which rule has which probe (also in each rule's documentation):

- `venv-relocated`: a console script of the venv starts, `<venv>/bin/<script> --version`
  (before the fix: at the path the venv was copied to);
- `user-site-not-on-path`: the script is on `PATH`, `command -v <script>`;
- `undefined-env-var`: the variable has no empty entry, `printf %s "$PYTHONPATH"`;
- `cache-mount-no-cache-dir`: the cache mount fills: the RUN built twice more, the second
  run reports `Using cached …` (pip; uv does not say);
- `verify-imports`: the CMD's interpreter imports what it runs: the check the fix adds,
  run in the image;
- `keep-dist-info`: `importlib.metadata` finds the installed distributions (a count);
- `--smoke CMD`: the user's own command, `sh -c CMD`.

The other rules' effect is the build's own outcome (masked-failure, masked-install-failure,
pip-cache-purge, find-cleanup-errors) or not visible in an image (copy-before-install: the
layer cache on the next code change), and they have no probe.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from dfmod.syntax.dockerfile import Dockerfile, Instruction
from dfmod.verify.buildlog import cache_hits, wheels_built
from dfmod.verify.docker import Build, Docker, Run

PROBE_ARG = "DFMOD_VERIFY_PROBE"
_OUTPUT = 100  # characters of a probe's output kept


@dataclass(frozen=True)
class Check:
    """What a probe saw on one side."""

    ok: bool
    summary: str  # "exit 0", "not found (exit 1)", "2 wheels from the cache"
    exit_code: int | None = None
    value: int | None = None  # a count, for probes that compare sides

    def to_json(self) -> dict[str, object]:
        return {"ok": self.ok, "summary": self.summary, "exit_code": self.exit_code}


@dataclass
class Side:
    """One image to probe: `name` "before" or "after", its Dockerfile text, and a way to
    build a variant of that text (for the cache probe)."""

    name: str
    image: str | None
    text: str
    build: Callable[[str, str, dict[str, str]], Build]


@dataclass
class Probe:
    rule: str | None  # None: the user's --smoke command
    name: str
    command: str  # as shown (the after side's)
    measure: Callable[[Side], Check]
    before_command: str = ""  # when the before side runs something else (another path)
    compare: Callable[[Check, Check], str] | None = None  # outcome from both sides' values
    code: bool = True  # `command` is a command line (shown as code)


@dataclass
class ProbeResult:
    probe: Probe
    before: Check | None = None
    after: Check | None = None
    note: str = ""

    @property
    def outcome(self) -> str:
        """shows-the-fix, passes, regressed, fails, before-only, not-run."""
        before, after = self.before, self.after
        if after is None:
            return "before-only" if before is not None else "not-run"
        if before is None:
            return "passes" if after.ok else "fails"
        if self.probe.compare is not None:
            return self.probe.compare(before, after)
        if after.ok:
            return "passes" if before.ok else "shows-the-fix"
        return "regressed" if before.ok else "fails"

    def text(self) -> str:
        """`probe `cmd`: before exit 255: exec …: no such file or directory → after exit 0`"""
        command = f"`{self.probe.command}`" if self.probe.code else self.probe.command
        shown = f"probe {command}" if self.probe.rule else f"smoke {command}"
        if self.before is not None and self.after is not None:
            return f"{shown}: before {self.before.summary} → after {self.after.summary}"
        if self.before is not None:
            return f"{shown}: before {self.before.summary} (no image after: {self.note or 'the build fails'})"
        if self.after is not None:
            return f"{shown}: after {self.after.summary}"
        return f"{shown}: not run ({self.note})"

    def to_json(self) -> dict[str, object]:
        return {"rule": self.probe.rule, "name": self.probe.name, "command": self.probe.command,
                "before_command": self.probe.before_command or None,
                "before": self.before.to_json() if self.before else None,
                "after": self.after.to_json() if self.after else None,
                "outcome": self.outcome, "note": self.note or None}


# --- the probes of each rule ---------------------------------------------------------
#
# A probe is set up from the Dockerfile and the fix's own edits (the text it inserts),
# not from the wording of the finding's message.


@dataclass(frozen=True)
class FixSite:
    """A fix as the probes need it: its rule, the text its edits insert, and where the
    finding is in the original Dockerfile."""

    rule: str
    inserted: tuple[str, ...]
    original: Dockerfile
    offset: int

    @property
    def instruction(self) -> Instruction | None:
        for item in self.original.instructions:
            if item.span.start <= self.offset <= item.span.end:
                return item
        return None


def for_fix(docker: Docker, site: FixSite, platform: str | None) -> Probe | None:
    """The probe of one applied fix, or None when its rule has none (or it cannot be set up)."""
    maker = _MAKERS.get(site.rule)
    return maker(docker, site, platform) if maker else None


def smoke(docker: Docker, command: str, platform: str | None) -> Probe:
    def measure(side: Side) -> Check:
        assert side.image is not None
        return _exit_check(docker.run(side.image, ["-c", command], "/bin/sh", platform))

    return Probe(None, "smoke", command, measure)


def _venv(docker: Docker, site: FixSite, platform: str | None) -> Probe | None:
    """The fix writes the path the venv was built at over the COPY's destination."""
    from dfmod.semantic.state import resolve_in

    copy = site.instruction
    if copy is None or copy.keyword not in ("COPY", "ADD") or not site.inserted:
        return None
    destination = copy.json_args[-1] if copy.json_args else copy.words[-1].value if copy.words else ""
    landed = resolve_in(site.original, copy, destination)
    built = site.inserted[0].rstrip("/")
    if not landed or not landed.startswith("/") or not built.startswith("/"):
        return None
    paths = {"after": built, "before": landed.rstrip("/")}
    chosen: dict[str, str] = {}

    def measure(side: Side) -> Check:
        assert side.image is not None
        if "script" not in chosen:
            listing = docker.run(side.image, ["-c", _LIST_SCRIPTS, "sh", paths[side.name] + "/bin"],
                                 "/bin/sh", platform)
            names = listing.stdout.split()
            preferred = [name for name in names if not _PACKAGING.match(name)] or names
            if not preferred:
                return Check(False, f"no console script in {paths[side.name]}/bin")
            chosen["script"] = preferred[0]
            probe.command = f"{paths['after']}/bin/{chosen['script']} --version"
            probe.before_command = f"{paths['before']}/bin/{chosen['script']} --version"
        script = f"{paths[side.name]}/bin/{chosen['script']}"
        return _start_check(docker.run(side.image, ["--version"], script, platform))

    probe = Probe("venv-relocated", "console script starts", f"{paths['after']}/bin/<script> --version",
                  measure, f"{paths['before']}/bin/<script> --version")
    return probe


# A venv's scripts: executable files whose `#!` line names a python (not activate*, python*).
_LIST_SCRIPTS = ('cd "$1" 2>/dev/null || exit 0; for f in *; do [ -f "$f" ] && [ -x "$f" ] || continue; '
                 'case "$f" in activate*|python*) continue;; esac; IFS= read -r line < "$f" || continue; '
                 'case "$line" in "#!"*python*) echo "$f";; esac; done')
_PACKAGING = re.compile(r"^(pip|pip3(\.\d+)?|wheel|easy_install.*|distro)$")


def _user_site(docker: Docker, site: FixSite, platform: str | None) -> Probe | None:
    """The script is the program the container starts (the rule reports nothing else)."""
    from dfmod.semantic.state import process_command

    stage = site.original.final_stage
    started = process_command(stage) if stage is not None else None
    if started is None or not re.fullmatch(r"[\w.+-]+", started.argv0):
        return None
    script = started.argv0

    def measure(side: Side) -> Check:
        assert side.image is not None
        run = docker.run(side.image, ["-c", f"command -v {script}"], "/bin/sh", platform)
        found = run.stdout.strip()
        if run.returncode == 0 and found:
            return Check(True, f"found at {found}", 0)
        return Check(False, f"not found (exit {run.returncode})", run.returncode)

    return Probe("user-site-not-on-path", "script on PATH", f"command -v {script}", measure)


def _undefined_env(docker: Docker, site: FixSite, platform: str | None) -> Probe | None:
    """The fix writes `${NAME:+:$NAME}` (or `${NAME:+$NAME:}`)."""
    name = next((found.group(1) for text in site.inserted
                 if (found := re.search(r"\$\{(\w+):\+", text))), None)
    if name is None:
        return None
    variable = name

    def measure(side: Side) -> Check:
        assert side.image is not None
        run = docker.run(side.image, ["-c", f'printf "%s" "${{{variable}-}}"'], "/bin/sh", platform)
        if run.returncode != 0:
            return Check(False, f"exit {run.returncode}: {_last_line(run)}", run.returncode)
        value = run.stdout
        shown = f"{variable}={_clip(value)}"
        if value and (value.startswith(":") or value.endswith(":") or "::" in value):
            return Check(False, f"`{shown}`: an empty entry", 0)
        return Check(True, f"`{shown}`: no empty entry", 0)

    return Probe("undefined-env-var", "no empty entry", f'printf %s "${variable}"', measure)


def _verify_imports(docker: Docker, site: FixSite, platform: str | None) -> Probe | None:
    """The fix inserts a `RUN` that imports what CMD runs: the probe runs that command."""
    line = next((found.group(1).strip() for text in site.inserted
                 if (found := re.search(r"^RUN (.+)$", text, re.M))), None)
    if line is None:
        return None
    command = line
    if command.startswith("["):
        try:
            argv = json.loads(command)
        except ValueError:
            return None
        if not argv or not all(isinstance(word, str) for word in argv):
            return None
        entrypoint, args, shown = argv[0], argv[1:], shlex.join(argv)
    else:
        entrypoint, args, shown = "/bin/sh", ["-c", command], command

    def measure(side: Side) -> Check:
        assert side.image is not None
        return _exit_check(docker.run(side.image, args, entrypoint, platform))

    return Probe("verify-imports", "imports what CMD runs", shown, measure)


def _keep_dist_info(docker: Docker, site: FixSite, platform: str | None) -> Probe | None:
    code = ("import importlib.metadata as m; "
            "print(len({(d.metadata['Name'] or '').lower() for d in m.distributions()}))")
    script = (f'for p in python python3; do command -v "$p" >/dev/null 2>&1 && exec "$p" -c "{code}"; '
              "done; exit 127")

    def measure(side: Side) -> Check:
        assert side.image is not None
        run = docker.run(side.image, ["-c", script], "/bin/sh", platform)
        count = run.stdout.strip()
        if run.returncode != 0 or not count.isdigit():
            return Check(False, f"exit {run.returncode}: {_last_line(run)}", run.returncode)
        return Check(int(count) > 0, f"{count} distribution{'s' if count != '1' else ''} found", 0,
                     int(count))

    def compare(before: Check, after: Check) -> str:
        if before.value is None or after.value is None:
            return "fails" if not after.ok else "passes"
        if after.value > before.value:
            return "shows-the-fix"
        return "passes" if after.value == before.value else "regressed"

    return Probe("keep-dist-info", "metadata kept", "python -c 'importlib.metadata.distributions()'",
                 measure, compare=compare)


def _cache_mount(docker: Docker, site: FixSite, platform: str | None) -> Probe | None:
    """The RUN with the mount runs twice more (an `ARG` before it, given new values): with
    the cache in use, pip's second run reports `Using cached …` (wheels it built or
    downloaded the first time); with the cache disabled it reports none."""
    instruction = site.instruction
    runs = _cache_runs(site.original)
    if instruction is None or instruction not in runs:
        return None
    index = runs.index(instruction)
    text = site.original.text
    if not re.search(r"\bpip3?\b", text[instruction.span.start:instruction.span.end]):
        return None  # uv says nothing about its cache hits
    import uuid

    nonce = uuid.uuid4().hex[:12]  # the layer cache outlives the run: values never seen before
    counter = {"n": 0}

    def measure(side: Side) -> Check:
        variant = _with_probe_arg(side.text, index)
        if variant is None:
            return Check(False, "the RUN with the cache mount was not found")
        build = None
        for _ in range(2 if side.name == "after" else 1):  # before: after the mount is filled
            counter["n"] += 1
            build = side.build(variant, f"cache-{side.name}-{counter['n']}", {PROBE_ARG: f"{nonce}-{counter['n']}"})
            if not build.ok:
                return Check(False, f"the probe build failed ({build.failure.reason if build.failure else ''})")
        assert build is not None
        hits, built = cache_hits(build.log), wheels_built(build.log)
        if hits:
            return Check(True, f"{hits} wheel{'s' if hits != 1 else ''} from the cache", value=hits)
        return Check(False, "nothing from the cache" + (f" ({built} wheel{'s' if built != 1 else ''} built again)"
                                                        if built else ""), value=0)

    return Probe("cache-mount-no-cache-dir", "cache mount fills",
                 f"the RUN at line {instruction.start_line} built twice more", measure, code=False)


_MAKERS: dict[str, Callable[..., Probe | None]] = {
    "venv-relocated": _venv,
    "user-site-not-on-path": _user_site,
    "undefined-env-var": _undefined_env,
    "verify-imports": _verify_imports,
    "keep-dist-info": _keep_dist_info,
    "cache-mount-no-cache-dir": _cache_mount,
}
PROBED = frozenset(_MAKERS)


def _cache_runs(doc: Dockerfile) -> list[Instruction]:
    return [item for item in doc.instructions
            if item.keyword == "RUN" and any(mount.type == "cache" for mount in item.mounts)]


def _with_probe_arg(text: str, index: int) -> str | None:
    """`text` with `ARG DFMOD_VERIFY_PROBE` on the line before the index-th cache RUN: every
    RUN after an ARG uses it, so a new value runs the RUN again, keeping its cache mounts."""
    runs = _cache_runs(Dockerfile(text))
    if index >= len(runs):
        return None
    start = text.rfind("\n", 0, runs[index].span.start) + 1
    newline = "\r\n" if "\r\n" in text else "\n"
    return f"{text[:start]}ARG {PROBE_ARG}{newline}{text[start:]}"


# --- judging a run ---------------------------------------------------------------------


def _exit_check(run: Run) -> Check:
    if run.returncode == 0:
        return Check(True, "exit 0", 0)
    return Check(False, f"exit {run.returncode}: {_last_line(run)}", run.returncode)


def _start_check(run: Run) -> Check:
    """Whether the command started at all (its exit status is its own business)."""
    if run.docker_failed:
        return Check(False, f"exit {run.returncode}: {_last_line(run)}", run.returncode)
    if run.returncode == 0:
        return Check(True, "starts (exit 0)", 0)
    return Check(True, f"starts (exit {run.returncode})", run.returncode)


def _last_line(run: Run) -> str:
    lines = [line.strip() for line in (run.stderr or run.stdout).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Run 'docker run --help'")]
    text = lines[-1] if lines else "no output"
    text = re.sub(r"^docker: Error response from daemon: ", "", text)
    found = re.search(r"exec: \"?([^\s\"]+)\"?: (?:stat [^:]+: )?(no such file or directory|"
                      r"permission denied|exec format error)", text)
    if found:
        text = f"exec {found.group(1)}: {found.group(2)}"
    return _clip(text)


def _clip(text: str) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= _OUTPUT else text[:_OUTPUT - 1] + "…"


