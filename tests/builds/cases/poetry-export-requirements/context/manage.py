import sys

import packaging
import six

if sys.argv[1:] == ["check"]:
    print(f"System check identified no issues (packaging {packaging.__version__}, six {six.__version__})")
else:
    print("serving")
