"""Files: uploads through presigned S3 POSTs, their records and quotas in DynamoDB, and
the knowledge and attachments they become in a model request."""
