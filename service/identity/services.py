"""The services Kumo serves, as its catalog names them: type, name and path under the
cloud's URL. Bootstrap registers them; access rules map request paths back to them."""

SERVICES = (
    ("identity", "keystone", "/identity/v3"),
    ("compute", "nova", "/compute/v2.1"),
    ("image", "glance", "/image"),
    ("object-store", "swift", "/object/v1/AUTH_$(project_id)s"),
    ("s3", "s3", "/s3"),
    ("network", "neutron", "/network"),
    ("event-stream", "kumo-events", "/events/v1"),
)

API_SERVICE_TYPES = {"/" + path.split("/")[1]: type_ for type_, _, path in SERVICES}
"""The service type of each API prefix (a path's first segment: `/object`, `/events`)."""
