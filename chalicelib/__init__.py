"""AI Maker's application code; it never imports chalice.

Packages form layers, and imports run one way (tests/test_layers.py checks it):
transports (`api`, `web`, `local`) -> `services` -> `stores` and `model` -> `schemas` -> `core`.
Packages of one layer are independent of each other.
"""
