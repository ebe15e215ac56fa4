"""Code shared by the three services: settings, events, resilience, HTTP plumbing."""
