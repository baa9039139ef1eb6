"""The HTTP and WebSocket contract: parsing, the one error mapping, OpenAPI and AsyncAPI.
May import: core, schemas, stores, model, services.
"""
