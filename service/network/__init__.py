"""Networking (Neutron v2.0): networks, subnets, ports with IPAM, floating IPs, quotas,
and Neutron's view of the security groups."""
