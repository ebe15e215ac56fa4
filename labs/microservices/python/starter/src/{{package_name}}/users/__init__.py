"""The users service: registration and lookup. It alone owns user records."""
