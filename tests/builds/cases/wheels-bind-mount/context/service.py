import packaging
import six

print("packaging", packaging.__version__, "six", six.__version__)
