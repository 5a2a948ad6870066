"""Glance's Metadata Definitions catalog (metadefs): namespaces of objects, properties and
tags that describe the metadata of other resources, and the resource types they apply to."""
