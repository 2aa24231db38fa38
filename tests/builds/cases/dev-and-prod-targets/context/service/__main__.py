import os

import packaging

try:
    import pyflakes

    tools = f"pyflakes {pyflakes.__version__}"
except ImportError:
    tools = "no pyflakes"
print(f"{os.environ['SERVICE_MODE']}: packaging {packaging.__version__}, {tools}")
