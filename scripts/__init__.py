"""Developer scripts (run from the repository root with `python -m scripts.<name>`)."""
