import six

try:
    from termcolor import colored
except ImportError:  # the extras are optional

    def colored(text, _color):
        return text


print("report:", colored("six " + six.__version__, "green"))
