"""AI Maker test suite."""
