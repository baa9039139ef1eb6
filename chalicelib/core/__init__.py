"""The shared ground: settings, domain errors, AWS clients, DynamoDB helpers, tokens, clock, logs.

Imports nothing else from chalicelib; everything else may import it.
"""
