"""The files of a run: configuration, which files a run covers and what kind each is, and
running the engine over them (the work behind `check`, `apply` and `pr`)."""
