"""The payments service: takes payments exactly once per idempotency key and announces them."""
