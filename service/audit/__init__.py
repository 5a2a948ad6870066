"""The audit log: one CADF-shaped record per API call that changes something, per
authentication and per authorisation denial, written to the log by a middleware and
searched through the `rm_audit` read model (`GET /events/v1/audit`)."""
