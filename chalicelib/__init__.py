"""AI Maker's application code, grouped by feature; it never imports chalice.

Imports run one way, and tests/test_layers.py checks it:
transports (`api`) -> services (`*.service`, `conversation.exchange`)
-> stores and the model (`sessions`, `configs`, `conversation.idempotency`, `model`)
-> request and response shapes (`schemas`) -> the shared ground (`core`).
"""
