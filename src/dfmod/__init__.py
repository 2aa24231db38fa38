"""dfmod: codemods that repair Dockerfiles and Compose files without harming them."""

__version__ = "0.1.0"
