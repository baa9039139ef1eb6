"""The web app served by the API: its pages and their static files.
May import: core, schemas, stores, model, services.
"""
