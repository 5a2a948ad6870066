"""The metadefs read model is a projection of the log: after a life of namespaces through
the API (renames, contents changed and deleted, a namespace deleted), rebuilding it from
the events in bulk gives back the rows the appends wrote, row for row."""

from events.postgres import PostgresEventStore
from projections.runner import rebuild
from service.image.metadefs.projection import MetadefProjection

from .conftest import Images, make_namespace

NS = "metadefs/namespaces/n2"


async def test_a_rebuild_gives_back_the_live_rows(
    md_admin: Images, store: PostgresEventStore
) -> None:
    await make_namespace(
        md_admin,
        "n1",
        objects=[{"name": "o", "required": ["p"]}],
        tags=[{"name": "t"}],
        properties={"p": {"title": "P", "type": "number", "minimum": 0.5}},
        resource_type_associations=[{"name": "OS::Glance::Image", "prefix": "hw_"}],
    )
    await make_namespace(md_admin, "gone", tags=[{"name": "t"}])
    await md_admin.call(
        "PUT", "metadefs/namespaces/n1", json={"namespace": "n2", "protected": True}
    )
    calls = [
        ("PUT", "/objects/o", {"name": "o2", "description": "renamed"}),
        ("POST", "/objects", {"name": "o3", "properties": {"q": {"title": "Q", "type": "string"}}}),
        ("PUT", "/properties/p", {"name": "p2", "title": "P2", "type": "string", "enum": ["a"]}),
        ("POST", "/tags", {"tags": [{"name": "u"}, {"name": "v"}]}),
        ("PUT", "/tags/u", {"name": "w"}),
        ("POST", "/resource_types", {"name": "OS::Kumo::New", "properties_target": "image"}),
        ("PUT", "", {"namespace": "n2"}),
        ("DELETE", "/resource_types/OS::Glance::Image", None),
        ("DELETE", "/tags/v", None),
        ("DELETE", "/objects/o3", None),
    ]
    for method, path, body in calls:
        reply = await md_admin.call(method, f"{NS}{path}", json=body)
        assert reply.status in (200, 201, 204), (method, path, reply.body)
    assert (await md_admin.call("DELETE", "metadefs/namespaces/gone")).status == 204

    model = MetadefProjection()
    live = {t: await _rows(store, t) for t in model.tables}
    assert len(live["rm_metadef_namespaces"]) == 1
    assert await rebuild(store, model, inline=True) > len(calls)
    assert {t: await _rows(store, t) for t in model.tables} == live
    shown = (await md_admin.call("GET", NS)).body
    assert [o["name"] for o in shown["objects"]] == ["o2"]
    assert [t["name"] for t in shown["tags"]] == ["w"]


async def _rows(store: PostgresEventStore, table: str) -> list[tuple[object, ...]]:
    return sorted((tuple(r) for r in await store.pool.fetch(f"SELECT * FROM {table}")), key=repr)
