"""The image service: Glance v2 on the event store, image bytes in the object backend."""
