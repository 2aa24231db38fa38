import sys

import idna
import six

if sys.platform == "win32":
    import colorama

    colorama.init()
print(f"tool: six {six.__version__}, idna {idna.__version__}")
