#!/usr/bin/env bash
# dfmod as the script of an org-wide multi-gitter run (https://github.com/lindell/multi-gitter):
#
#   multi-gitter run "$PWD/examples/ci/multi-gitter-dfmod.sh" --manual-commit \
#     --org acme --branch dfmod/fixes --conflict-strategy replace
#
# multi-gitter clones each repository, makes the branch from the base head, runs this script
# in the clone and, with --manual-commit and no --pr-title, opens the pull request with the
# first line of the script's commit as its title and the rest as its body. So the script
# makes one commit: dfmod's fixes (computed by `dfmod pr` from the base, in a worktree) with
# dfmod's pull-request title and body as its message. Nothing to fix: no commit, no pull
# request. The commit's dates are the base commit's, so the same base gives the same commit:
# run the sweep again and nothing new is pushed; when the base moves, the branch follows.
# Commits are made as the git identity of the environment (GIT_AUTHOR_NAME and so on).
# Arguments go to `dfmod pr`: --select, --ignore, --unsafe-fixes, paths.
set -euo pipefail
base=$(git rev-parse HEAD)
# The base branch's name, for the body: the remote branch the clone was made from.
base_name=$(git for-each-ref --points-at "$base" --format='%(refname:lstrip=3)' refs/remotes/origin |
            awk '$0 != "HEAD" && !found { print; found = 1 }')
work="dfmod-multi-gitter/$$"
body=$(mktemp)
message=$(mktemp)
trap 'rm -f "$body" "$message"; git branch -D -q "$work" 2>/dev/null || true' EXIT
GIT_AUTHOR_DATE=$(git log -1 --format=%cI "$base")
GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
export GIT_AUTHOR_DATE GIT_COMMITTER_DATE
dfmod pr --squash --base "${base_name:-HEAD}" --branch "$work" --body-file "$body" "$@" >&2
if ! git rev-parse --verify --quiet "refs/heads/$work" >/dev/null; then
  exit 0  # nothing to fix
fi
{ git log -1 --format=%s "$work"; echo; cat "$body"; } > "$message"
commit=$(git commit-tree "$(git rev-parse "$work^{tree}")" -p "$base" -F "$message")
git merge --ff-only --quiet "$commit"
