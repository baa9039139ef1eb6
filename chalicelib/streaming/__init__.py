"""Streaming replies: a running request's stop flag (a store) and the stream service.

A stop arrives in another invocation than the one generating, so it travels
through DynamoDB: `runs` is a store, `service` is a service.
"""
