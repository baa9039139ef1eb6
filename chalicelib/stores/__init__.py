"""Every store: sessions, messages, configs, quotas and counters, budgets, files, caches, runs.
May import: core, schemas.
"""
