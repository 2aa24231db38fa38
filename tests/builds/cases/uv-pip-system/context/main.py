from importlib.metadata import version

import termcolor

print(termcolor.colored("termcolor", "red", no_color=True), version("termcolor"), "via uv")
