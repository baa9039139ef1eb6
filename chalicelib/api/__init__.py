"""The HTTP contract: body parsing, the one mapping from domain errors to status codes, and
the OpenAPI document. The top layer of chalicelib: it may import any package, none imports it.
"""
