import sys

import packaging

numbers = [int(arg) for arg in sys.argv[2:]] if sys.argv[1:2] == ["--total"] else []
print(f"ledger total {sum(numbers)} (packaging {packaging.__version__})")
