"""The creator's chat configurations: the S3 store, the DynamoDB mirror of their controls,
the quotas enforced from it, and the creator routes' service.

The stores (`store`, `controls`, `quotas`) import `core`, `schemas` and session records;
`service` sits above them.
"""
