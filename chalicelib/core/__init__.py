"""The shared ground: settings, errors, AWS clients, DynamoDB and S3 helpers, tokens, clock, logs.
May import: nothing (it is the ground every package stands on).
"""
