"""A replicated, sharded key-value store: Raft nodes driven by a deterministic simulator."""
