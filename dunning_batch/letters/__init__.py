"""PDF letters: contexts from a run's outputs, Jinja2 + WeasyPrint rendering, batched workers."""
