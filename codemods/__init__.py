"""dfmod's built-in codemods: one module per codemod, its docstring is its documentation."""
