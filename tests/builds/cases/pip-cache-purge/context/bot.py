from importlib.metadata import version

import termcolor  # noqa: F401

print("bot ready: termcolor", version("termcolor"))
