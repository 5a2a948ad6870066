"""Compute: Nova v2.1 — flavors, keypairs, servers and their actions on libvirt hosts.

Behind the API: `hypervisor` is the seam the compute reactor drives (its one
implementation is `libvirt`, the only module that imports libvirt); `domain_xml` renders
a domain's XML; `disks` runs qemu-img; `config_drive` builds OpenStack config drives.
"""
