"""Every store: sessions, messages, configs, quotas, the budget, files, caches, claims, runs.
May import: core, schemas.
"""
