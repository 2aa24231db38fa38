import subprocess

import pyflakes

version = subprocess.run(["pyflakes", "--version"], capture_output=True, text=True, check=True).stdout.split()[0]
assert version == pyflakes.__version__
print("lint ok: pyflakes", version)
