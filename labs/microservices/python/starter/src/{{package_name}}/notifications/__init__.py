"""The notifications service: turns payment events into notifications, once each."""
