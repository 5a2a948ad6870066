"""Identity: Keystone v3 — domains, projects, users, groups, roles, catalog, tokens."""
