"""The use cases routes call: configs, sessions, the conversation, files, caches, streaming, cost.
May import: core, schemas, stores, model (its own modules in a fixed order).
"""
