"""Chat sessions: the stored record, the per-message DynamoDB store, and the session service.

The stores (`records`, `messages`, `store`) import `core` and `schemas`; `service` may
also import other stores and services (`configs.service`, `conversation.exchange`).
"""
