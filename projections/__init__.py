"""Read models projected from the log: inline, asynchronous, rebuilt, or as of a past point."""
