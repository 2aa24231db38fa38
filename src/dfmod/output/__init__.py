"""What a person or a CI system reads: text, JSON, SARIF and GitHub reports, diffs, and the
generated rules page."""
