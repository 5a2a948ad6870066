"""Kumo's service: the HTTP apps, command handlers, reactors, drivers, config and CLI."""
