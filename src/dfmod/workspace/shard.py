"""`--shard I/N` and `--shard auto`: one stable part of a run's files, so the engines a
platform team already runs (a CI matrix, parallel CI jobs, a Kubernetes Indexed Job) can
share one sweep.

A file's shard depends on its path relative to the repository root alone
(`dfmod.workspace.repopath`), hashed with CRC-32: every machine, whatever its checkout
directory, puts a file in the same shard, and the N shards of a run are a partition of its
files — each file is processed by exactly one of them.

`--shard auto` takes I and N from the engine running dfmod. Each engine counts its own
way; the conventions, as each engine documents them:

- `DFMOD_SHARD=I/N` — dfmod's own, 1-based like `--shard`: for engines that pass the shard
  in themselves, such as a GitHub Actions matrix (`strategy.job-index` is 0-based,
  `strategy.job-total` the number of jobs; GitHub's "Contexts reference", strategy
  context), or a Job manifest that states both.
- GitLab `parallel: N`: `CI_NODE_INDEX` from 1 to `CI_NODE_TOTAL` ("Predefined CI/CD
  variables"; CI_NODE_INDEX is set only for a parallel job, CI_NODE_TOTAL is 1 otherwise).
  A `parallel: matrix:` job gets them too, counting every combination of the matrix.
- CircleCI `parallelism: N`: `CIRCLE_NODE_INDEX` from 0 to `CIRCLE_NODE_TOTAL` - 1
  ("Project values and variables").
- Buildkite `parallelism: N`: `BUILDKITE_PARALLEL_JOB` from 0 to
  `BUILDKITE_PARALLEL_JOB_COUNT` - 1 (Buildkite's "Environment variables"; its own test
  splitter checks the same range).
- Kubernetes Indexed Job (`completionMode: Indexed`): `JOB_COMPLETION_INDEX` from 0 to
  `completions` - 1, set by the control plane ("Indexed Job for Parallel Processing with
  Static Work Assignment"). The Job's `completions` reaches no container, so the manifest
  passes it in as `DFMOD_SHARD_COUNT`.

The first convention whose variables are set wins, in that order; half a pair, a value
that is not a number or an index out of range is an error naming the variables.
"""

from __future__ import annotations

from collections.abc import Mapping

from dfmod.syntax.records import Record

AUTO = "auto"


class ShardError(ValueError):
    """Why no shard could be taken; `str()` is the one-line message shown to the user."""


class Shard(Record):
    """Shard `index` (1-based) of `total`; `source` says where it came from (`--shard auto`
    says it on stderr)."""

    __slots__ = ("index", "total", "source")

    def __init__(self, index: int, total: int, source: str = "--shard") -> None:
        self.index = index
        self.total = total
        self.source = source

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"

    def holds(self, path: str, roots: tuple[str, ...] | None = None) -> bool:
        """Whether the file at `path` is this shard's (see the module docstring); `roots`:
        the run's project roots (`dfmod.workspace.repopath`)."""
        import zlib  # only a sharded run hashes

        from dfmod.workspace.repopath import repo_path

        key = repo_path(path, roots).encode("utf-8", "surrogateescape")
        return zlib.crc32(key) % self.total == self.index - 1


class Convention(Record):
    """How one engine names its shard: the index variable, counting from `base`, and the
    variable with the number of shards."""

    __slots__ = ("engine", "index", "total", "base")

    def __init__(self, engine: str, index: str, total: str, base: int) -> None:
        self.engine = engine
        self.index = index
        self.total = total
        self.base = base


CONVENTIONS = (
    Convention("GitLab", "CI_NODE_INDEX", "CI_NODE_TOTAL", 1),
    Convention("CircleCI", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0),
    Convention("Buildkite", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0),
    Convention("a Kubernetes Indexed Job", "JOB_COMPLETION_INDEX", "DFMOD_SHARD_COUNT", 0),
)


def parse(value: str) -> Shard | str:
    """`--shard`'s argument: `I/N` with 1 <= I <= N, or `auto` (resolved by `resolve`)."""
    if value == AUTO:
        return AUTO
    index, _, total = value.partition("/")
    if not (index.isdigit() and total.isdigit() and 1 <= int(index) <= int(total)):
        raise ShardError(f"expected I/N with 1 <= I <= N, or auto; got {value!r}")
    return Shard(int(index), int(total))


def resolve(value: Shard | str | None, environ: Mapping[str, str]) -> Shard | None:
    """The shard a run processes: as given, taken from `environ` for `auto`, or None."""
    if value == AUTO:
        return from_environment(environ)
    return value if isinstance(value, Shard) else None


def from_environment(environ: Mapping[str, str]) -> Shard:
    """The shard the engine running dfmod assigned (see the module docstring)."""
    if environ.get("DFMOD_SHARD"):
        try:
            shard = parse(environ["DFMOD_SHARD"])
        except ShardError as error:
            raise ShardError(f"--shard auto: DFMOD_SHARD: {error}") from None
        if isinstance(shard, Shard):
            return Shard(shard.index, shard.total, f"DFMOD_SHARD={shard}")
        raise ShardError("--shard auto: DFMOD_SHARD must be I/N, not auto")
    for convention in CONVENTIONS:
        shard = _read(convention, environ)
        if shard is not None:
            return shard
    raise ShardError("--shard auto: no shard in the environment (set DFMOD_SHARD=I/N, or run "
                     "as a GitLab parallel job, a CircleCI or Buildkite parallel step, or a "
                     "Kubernetes Indexed Job with DFMOD_SHARD_COUNT)")


def _read(convention: Convention, environ: Mapping[str, str]) -> Shard | None:
    """The shard `convention`'s variables name; None when neither is set."""
    index, total = environ.get(convention.index, ""), environ.get(convention.total, "")
    if not index and not total:
        return None
    if not index and convention.base == 1 and total == "1":
        # GitLab: a job without `parallel:` has CI_NODE_TOTAL=1 and no index.
        return Shard(1, 1, f"{convention.engine}: {convention.total}=1, no {convention.index}")
    if not index or not total:
        present, missing = ((convention.index, convention.total) if index
                            else (convention.total, convention.index))
        hint = " (set it to the Job's completions)" if missing == "DFMOD_SHARD_COUNT" else ""
        raise ShardError(f"--shard auto: {present} is set ({convention.engine}) but {missing} "
                         f"is not{hint}")
    first, last = convention.base, f"{convention.total} - 1" if convention.base == 0 else convention.total
    if not (index.isdigit() and total.isdigit() and int(total) >= 1
            and first <= int(index) < int(total) + first):
        raise ShardError(f"--shard auto: {convention.index}={index} with {convention.total}={total}: "
                         f"{convention.engine} counts from {first} to {last}")
    return Shard(int(index) - first + 1, int(total),
                 f"{convention.engine}: {convention.index}={index}, {convention.total}={total}")
