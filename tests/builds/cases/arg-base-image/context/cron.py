import sys

import idna

every = int(sys.argv[sys.argv.index("--every") + 1])
print(f"cron: next run in {every} min (idna {idna.__version__})")
