"""The Nova v2.1 HTTP API, one module per resource family."""
