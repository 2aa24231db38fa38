"""`python -m dfmod` runs the CLI."""

import sys

from dfmod.cli import main

sys.exit(main())
