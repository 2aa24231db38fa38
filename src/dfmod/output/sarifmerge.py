"""`dfmod merge-sarif`: the SARIF logs of a sweep's shards as one log with one run.

Listing the shards' runs side by side is not enough: GitHub code scanning no longer
combines several runs of one tool and category in an upload (deprecated May 2024, refused
since June 2025), and uploading each shard under its own category leaves stale alerts
behind whenever the number of shards changes. So the results are concatenated into one
run: the rules are the union of the shards' (each result's `ruleIndex` pointing into it),
under the driver they share. Fingerprints stay as dfmod made them — they are per file, and
each file is in exactly one shard.

Every log must be dfmod's, of one version and one column kind: shards of different
versions would mix rule texts and fingerprint recipes in one run, which an error names
rather than a merge hides.
"""

from __future__ import annotations

import json
from typing import Any


class MergeError(ValueError):
    """Why the logs cannot be merged; `str()` is the one-line message shown to the user."""


def merge(logs: list[tuple[str, Any]]) -> dict[str, Any]:
    """One log of the runs in `logs` (name, parsed log), which must all be dfmod's."""
    if not logs:
        raise MergeError("no SARIF logs to merge")
    first: dict[str, Any] | None = None
    rules: dict[str, dict[str, Any]] = {}
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    for name, log in logs:
        runs = log.get("runs") if isinstance(log, dict) else None
        if not isinstance(runs, list) or log.get("version") != "2.1.0":
            raise MergeError(f"{name}: not a SARIF 2.1.0 log")
        for run in runs:
            driver = run.get("tool", {}).get("driver", {})
            if driver.get("name") != "dfmod":
                raise MergeError(f"{name}: a run of {driver.get('name')!r}, not of dfmod")
            first = first or run
            version = first["tool"]["driver"].get("version")
            if driver.get("version") != version:
                raise MergeError(f"{name}: made by dfmod {driver.get('version')}, the first log "
                                 f"by dfmod {version}")
            if run.get("columnKind") != first.get("columnKind"):
                raise MergeError(f"{name}: columnKind {run.get('columnKind')!r}, the first log "
                                 f"{first.get('columnKind')!r}")
            for rule in driver.get("rules", []):
                if rule["id"] not in rules:
                    index[rule["id"]] = len(rules)
                    rules[rule["id"]] = rule
            for result in run.get("results", []):
                if result.get("ruleId") not in index:
                    raise MergeError(f"{name}: result of rule {result.get('ruleId')!r}, which "
                                     "its run does not describe")
                results.append({**result, "ruleIndex": index[result["ruleId"]]})
    if first is None:
        raise MergeError("the logs hold no run")
    driver = {**first["tool"]["driver"], "rules": list(rules.values())}
    run = {**first, "tool": {**first["tool"], "driver": driver}, "results": results}
    return {**logs[0][1], "runs": [run]}


def merge_files(paths: list[str]) -> str:
    """The merged log of the SARIF files at `paths`, as text."""
    logs = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                logs.append((path, json.load(handle)))
        except OSError as error:
            raise MergeError(f"{path}: cannot read: {error.strerror}") from None
        except ValueError as error:
            raise MergeError(f"{path}: not JSON: {error}") from None
    return json.dumps(merge(logs), indent=2, ensure_ascii=False) + "\n"
