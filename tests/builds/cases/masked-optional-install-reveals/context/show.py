try:
    from termcolor import colored
except ImportError:

    def colored(text, *_args):
        return text


print(colored("plain output", "blue"))
