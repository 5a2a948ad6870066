"""What a metadefs namespace holds, through Glance's HTTP API as the admin: objects,
properties (with their schemas), tags (one, many, appended or replacing) and resource
type associations; names unique within the namespace (409), unknown ones 404."""

from .conftest import Images, make_namespace

NS = "metadefs/namespaces/OS::Test"


async def test_objects_are_created_listed_renamed_and_deleted(md_admin: Images) -> None:
    await make_namespace(md_admin, "OS::Test")
    cpu = {
        "name": "CPU",
        "description": "Limits",
        "required": ["shares"],
        "properties": {"shares": {"title": "Shares", "type": "integer", "minimum": 0}},
    }
    created = await md_admin.call("POST", f"{NS}/objects", json=cpu)
    assert created.status == 201, created.body
    assert created.body | {"created_at": None, "updated_at": None} == cpu | {
        "self": f"/v2/{NS}/objects/CPU",
        "schema": "/v2/schemas/metadefs/object",
        "created_at": None,
        "updated_at": None,
    }
    assert (await md_admin.call("POST", f"{NS}/objects", json={"name": "CPU"})).status == 409
    await md_admin.call("POST", f"{NS}/objects", json={"name": "Disk"})
    listed = (await md_admin.call("GET", f"{NS}/objects")).body
    assert [o["name"] for o in listed["objects"]] == ["Disk", "CPU"]
    assert listed["schema"] == "/v2/schemas/metadefs/objects"
    asc = (await md_admin.call("GET", f"{NS}/objects?sort_key=name&sort_dir=asc&limit=1")).body
    assert [o["name"] for o in asc["objects"]] == ["CPU"]
    assert (await md_admin.call("GET", f"{NS}/objects/CPU")).body == created.body

    renamed = await md_admin.call("PUT", f"{NS}/objects/CPU", json={"name": "vCPU"})
    assert renamed.status == 200, renamed.body
    assert renamed.body["name"] == "vCPU"
    assert "properties" not in renamed.body  # the update replaces the whole object
    assert renamed.body["created_at"] == created.body["created_at"]
    assert (await md_admin.call("PUT", f"{NS}/objects/vCPU", json={"name": "Disk"})).status == 409
    assert (await md_admin.call("GET", f"{NS}/objects/CPU")).status == 404
    assert (await md_admin.call("DELETE", f"{NS}/objects/vCPU")).status == 204
    assert (await md_admin.call("DELETE", f"{NS}/objects/vCPU")).status == 404
    assert (await md_admin.call("DELETE", f"{NS}/objects")).status == 204
    assert (await md_admin.call("GET", f"{NS}/objects")).body["objects"] == []
    bad = await md_admin.call("POST", f"{NS}/objects", json={"name": "x", "colour": "red"})
    assert bad.status == 400
    assert (
        await md_admin.call("POST", "metadefs/namespaces/nope/objects", json={"name": "x"})
    ).status == 404


async def test_properties_keep_their_schema_and_may_be_renamed(md_admin: Images) -> None:
    await make_namespace(md_admin, "OS::Test")
    bus = {
        "name": "disk_bus",
        "title": "Disk Bus",
        "type": "string",
        "enum": ["scsi", "virtio"],
        "default": "virtio",
        "readonly": False,
        "maxLength": 10,
    }
    created = await md_admin.call("POST", f"{NS}/properties", json=bus)
    assert (created.status, created.body) == (201, bus)
    listed = [
        {"name": "ram", "title": "RAM", "type": "integer", "minimum": 1, "maximum": 2.5},
        {
            "name": "names",
            "title": "Names",
            "type": "array",
            "uniqueItems": True,
            "items": {"type": "string", "enum": ["a", "b"]},
            "minItems": 1,
        },
    ]
    for prop in listed:
        assert (await md_admin.call("POST", f"{NS}/properties", json=prop)).status == 201
    assert (await md_admin.call("POST", f"{NS}/properties", json=bus)).status == 409
    unnamed = {k: v for k, v in bus.items() if k != "name"}
    assert (await md_admin.call("POST", f"{NS}/properties", json=unnamed)).status == 400
    everything = (await md_admin.call("GET", f"{NS}/properties")).body
    assert list(everything["properties"]) == ["disk_bus", "names", "ram"]  # by name
    assert everything["properties"]["names"]["items"] == {"type": "string", "enum": ["a", "b"]}
    assert (await md_admin.call("GET", f"{NS}/properties/ram")).body == listed[0]

    moved = {"name": "bus", "title": "Bus", "type": "string"}
    updated = await md_admin.call("PUT", f"{NS}/properties/disk_bus", json=moved)
    assert (updated.status, updated.body) == (200, moved)
    assert (await md_admin.call("GET", f"{NS}/properties/disk_bus")).status == 404
    clash = await md_admin.call("PUT", f"{NS}/properties/bus", json=moved | {"name": "ram"})
    assert clash.status == 409
    assert (await md_admin.call("DELETE", f"{NS}/properties/bus")).status == 204
    assert (await md_admin.call("DELETE", f"{NS}/properties/bus")).status == 404
    assert (await md_admin.call("DELETE", f"{NS}/properties")).status == 204
    assert (await md_admin.call("GET", f"{NS}/properties")).body == {"properties": {}}


async def test_a_property_is_found_by_the_name_a_resource_type_knows(md_admin: Images) -> None:
    await make_namespace(
        md_admin,
        "OS::Test",
        properties={"cpu": {"title": "CPU", "type": "integer"}},
        resource_type_associations=[
            {"name": "OS::Nova::Flavor", "prefix": "hw:"},
            {"name": "OS::Glance::Image"},
        ],
    )
    found = await md_admin.call("GET", f"{NS}/properties/hw:cpu?resource_type=OS::Nova::Flavor")
    assert (found.status, found.body["name"]) == (200, "cpu")
    for query in (
        "hw:cpu?resource_type=OS::Glance::Image",
        "cpu?resource_type=OS::Nova::Flavor",
        "hw:cpu?resource_type=OS::Cinder::Volume",
    ):
        assert (await md_admin.call("GET", f"{NS}/properties/{query}")).status == 404, query


async def test_tags_one_by_one_many_at_once_renamed_and_deleted(md_admin: Images) -> None:
    await make_namespace(md_admin, "OS::Test")
    one = await md_admin.call("POST", f"{NS}/tags/first")
    assert one.status == 201
    assert set(one.body) == {"name", "created_at", "updated_at"}
    assert (await md_admin.call("POST", f"{NS}/tags/first")).status == 409
    assert (await md_admin.call("POST", f"{NS}/tags/" + "x" * 81)).status == 400

    async def names() -> list[str]:
        body = (await md_admin.call("GET", f"{NS}/tags?sort_dir=asc")).body
        return [t["name"] for t in body["tags"]]

    many = {"tags": [{"name": "a"}, {"name": "b"}]}
    appended = await md_admin.call(
        "POST", f"{NS}/tags", json=many, headers={"X-Openstack-Append": "True"}
    )
    assert (appended.status, appended.body) == (201, many)
    assert await names() == ["first", "a", "b"]
    again = await md_admin.call(
        "POST", f"{NS}/tags", json=many, headers={"X-Openstack-Append": "true"}
    )
    assert again.status == 409
    assert (await md_admin.call("POST", f"{NS}/tags", json=many)).status == 201  # replaces
    assert await names() == ["a", "b"]
    doubled = {"tags": [{"name": "c"}, {"name": "c"}]}
    assert (await md_admin.call("POST", f"{NS}/tags", json=doubled)).status == 409
    assert await names() == ["a", "b"]

    renamed = await md_admin.call("PUT", f"{NS}/tags/a", json={"name": "z"})
    assert (renamed.status, renamed.body["name"]) == (200, "z")
    assert (await md_admin.call("PUT", f"{NS}/tags/z", json={"name": "b"})).status == 409
    assert (await md_admin.call("GET", f"{NS}/tags/z")).body["name"] == "z"
    assert (await md_admin.call("GET", f"{NS}/tags/a")).status == 404
    assert (await md_admin.call("DELETE", f"{NS}/tags/z")).status == 204
    assert await names() == ["b"]
    assert (await md_admin.call("DELETE", f"{NS}/tags")).status == 204
    assert await names() == []


async def test_resource_types_are_listed_and_associated(md_admin: Images) -> None:
    listed = (await md_admin.call("GET", "metadefs/resource_types")).body["resource_types"]
    assert [rt["name"] for rt in listed][:3] == [
        "OS::Glance::Image",
        "OS::Cinder::Volume",
        "OS::Nova::Flavor",
    ]
    await make_namespace(md_admin, "OS::Test")
    association = {"name": "OS::Cinder::Volume", "prefix": "hw_", "properties_target": "image"}
    made = await md_admin.call("POST", f"{NS}/resource_types", json=association)
    assert made.status == 201, made.body
    assert made.body | {"created_at": None, "updated_at": None} == association | {
        "created_at": None,
        "updated_at": None,
    }
    assert (await md_admin.call("POST", f"{NS}/resource_types", json=association)).status == 409
    # A resource type named for the first time comes into being, as in Glance.
    await md_admin.call("POST", f"{NS}/resource_types", json={"name": "OS::Kumo::Thing"})
    everything = (await md_admin.call("GET", "metadefs/resource_types")).body["resource_types"]
    assert everything[-1]["name"] == "OS::Kumo::Thing"
    associations = (await md_admin.call("GET", f"{NS}/resource_types")).body
    assert [a["name"] for a in associations["resource_type_associations"]] == [
        "OS::Cinder::Volume",
        "OS::Kumo::Thing",
    ]
    assert (await md_admin.call("DELETE", f"{NS}/resource_types/OS::Kumo::Thing")).status == 204
    assert (await md_admin.call("DELETE", f"{NS}/resource_types/OS::Kumo::Thing")).status == 404
    still = (await md_admin.call("GET", "metadefs/resource_types")).body["resource_types"]
    assert still == everything
    bad = await md_admin.call("POST", f"{NS}/resource_types", json={"prefix": "no name"})
    assert bad.status == 400
