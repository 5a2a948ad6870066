"""The HTTP plumbing every Kumo API shares: keys, middlewares, faults, bodies, versions."""
