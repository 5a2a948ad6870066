"""Compute: Nova v2.1 — flavors, keypairs, servers and their actions on libvirt hosts."""
