import sys

import six

if sys.argv[1:] == ["status"]:
    print(f"api status: ok (six {six.__version__})")
else:
    print("api serving (not really)")
