"""Object storage: the Swift v1 API on the ObjectBackend, its metadata event-sourced."""
