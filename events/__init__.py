"""The event store: event types, their codec, the Postgres log and subscriptions."""
