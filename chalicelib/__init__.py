"""AI Maker's application code. Nothing here imports chalice."""
