"""Lossless documents: text and spans, reading and writing user files, the Dockerfile lexer,
the Compose document, and the shell model of a RUN. Knows nothing of what a build does."""
