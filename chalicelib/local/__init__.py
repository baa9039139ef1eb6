"""What `chalice local` starts in the dev stage (the local AWS); nothing here runs on Lambda.
May import: core, schemas, stores, model, services.
"""
