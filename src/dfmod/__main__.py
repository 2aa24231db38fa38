"""`python -m dfmod` runs the CLI."""

import sys

from dfmod.cli import entry

sys.exit(entry())
