"""`make bench`: what a send costs in DynamoDB, how fast the app starts, and how
long a send takes on the server. A benchmark, not a test: it prints a table."""
