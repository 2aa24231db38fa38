"""A file's path relative to the root of its repository: the name that does not depend on
where the checkout lies or where dfmod was started.

A sweep runs the same repository on many machines (a CI matrix, the pods of a Kubernetes
Job), each with its own checkout directory and working directory. What must agree between
them — which shard a file falls in, the file names in the reports that are concatenated
afterwards — is keyed by this path. The root is the project's (`dfmod.syntax.project`):
the git top-level of the paths given, or the directory given outside git — the run's
`roots` (`dfmod.syntax.project.Project.of(paths).roots`), by default the active project's.
"""

from __future__ import annotations

import os

from dfmod.syntax.project import current, project_root


def repo_path(path: str, roots: tuple[str, ...] | None = None) -> str:
    """`path` relative to the root of the project holding it, with `/` separators; its
    absolute path if no root holds it. A path is placed by its directory's real path, as
    the project's rule places it, so a symlinked checkout gives the same name."""
    absolute = os.path.abspath(path)
    real = os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))
    roots = roots or current().roots or (project_root(absolute),)
    for root in sorted(roots, key=len, reverse=True):  # the innermost of nested repositories
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return os.path.relpath(real, root).replace(os.sep, "/")
    return absolute.replace(os.sep, "/")
