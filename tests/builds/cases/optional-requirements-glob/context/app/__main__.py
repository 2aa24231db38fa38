import packaging

print("app: packaging", packaging.__version__)
