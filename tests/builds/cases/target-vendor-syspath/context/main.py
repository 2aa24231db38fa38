import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor"))

import idna

print("vendored idna", idna.__version__, idna.encode("bücher.example").decode())
