"""What a build does, read from the syntax: the state at an instruction (env, WORKDIR, user,
PATH), tools and how they are spelled, caches, venvs, what CMD starts, Python dependencies,
`find`/`rm` cleanups, and which failures an `||` masks."""
