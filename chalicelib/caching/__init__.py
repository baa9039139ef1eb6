"""One Gemini context cache per agent: its record in DynamoDB, and when to use, make,
extend or drop it."""
