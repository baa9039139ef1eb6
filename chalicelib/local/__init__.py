"""Local servers for `chalice local` in the dev stage; nothing here runs on Lambda."""
