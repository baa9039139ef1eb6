"""The conversation: preparing and storing an exchange, Idempotency-Key claims, sending and
regenerating under a reserved quota.

`idempotency` is a store; `exchange` and `service` are services over the session and
config stores and the model.
"""
