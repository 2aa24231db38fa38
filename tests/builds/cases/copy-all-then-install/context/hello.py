import idna

print("hello from idna", idna.__version__)
