import six

from billing import __version__

print(f"billing {__version__} (six {six.__version__})")
