import sys
sys.path.insert(0, "/app/vendor")

import requests  # noqa: E402
