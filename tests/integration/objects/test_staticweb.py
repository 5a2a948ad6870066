"""StaticWeb: a public container served as a web site to anonymous readers (index
files, HTML listings with their style sheet, error pages, redirects to folders), and
left alone for its owner and for containers that are no web site."""

import pytest

from tests.integration.objects.conftest import Swift

PUBLIC = {"X-Container-Read": ".r:*,.rlistings"}


@pytest.fixture
async def site(swift: Swift) -> Swift:
    assert (await swift.call("PUT", "site", headers=PUBLIC)).status == 201
    for name, body in {
        "index.html": b"<h1>home</h1>",
        "docs/index.html": b"<h1>docs</h1>",
        "docs/guide.txt": b"guide",
        "img/logo.png": b"png",
        "404error.html": b"<h1>lost</h1>",
    }.items():
        assert (await swift.call("PUT", f"site/{name}", body=body)).status == 201
    return swift


async def web_get(swift: Swift, path: str, **headers: str) -> tuple[int, str, dict[str, str]]:
    response = await swift.client.get(
        f"{swift.root}/{path}", headers=headers, allow_redirects=False
    )
    return response.status, await response.text(), dict(response.headers)


async def test_the_index_of_the_container_and_of_a_folder(site: Swift) -> None:
    await site.call("POST", "site", headers={"X-Container-Meta-Web-Index": "index.html"})
    status, _, headers = await web_get(site, "site")
    assert status == 301
    assert headers["Location"] == f"/object/v1/AUTH_{site.project_id}/site/"
    assert (await web_get(site, "site/"))[:2] == (200, "<h1>home</h1>")
    status, _, headers = await web_get(site, "site/docs")
    assert (status, headers["Location"].endswith("/site/docs/")) == (301, True)
    assert (await web_get(site, "site/docs/"))[:2] == (200, "<h1>docs</h1>")
    assert (await web_get(site, "site/docs/guide.txt"))[:2] == (200, "guide")
    head = await site.client.head(f"{site.root}/site/", allow_redirects=False)
    assert head.status == 200 and head.headers["Content-Length"] == "13"


async def test_listings_with_a_style_sheet_and_a_label(site: Swift) -> None:
    web = {
        "X-Container-Meta-Web-Listings": "true",
        "X-Container-Meta-Web-Listings-CSS": "listing.css",
    }
    await site.call("POST", "site", headers=web)
    status, body, headers = await web_get(site, "site/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert f"<title>Listing of /v1/AUTH_{site.project_id}/site/</title>" in body
    assert '<link rel="stylesheet" type="text/css" href="listing.css" />' in body
    assert '<a href="./docs/">docs/</a>' in body and '<a href="./index%2Ehtml">' in body
    status, body, _ = await web_get(site, "site/img/")
    assert status == 200
    assert '<a href="./logo%2Epng">logo.png</a>' in body
    assert 'href="../listing.css"' in body and '<a href="../">../</a>' in body
    await site.call("POST", "site", headers={"X-Container-Meta-Web-Listings-Label": "ex.com"})
    assert "<title>Listing of ex.com/img/</title>" in (await web_get(site, "site/img/"))[1]


async def test_error_pages_and_missing_folders(site: Swift) -> None:
    web = {"X-Container-Meta-Web-Listings": "true", "X-Container-Meta-Web-Error": "error.html"}
    await site.call("POST", "site", headers=web)
    assert (await web_get(site, "site/nothing"))[:2] == (404, "<h1>lost</h1>")
    assert (await web_get(site, "site/nothing/"))[:2] == (404, "<h1>lost</h1>")
    await site.call("DELETE", "site/404error.html")
    assert (await web_get(site, "site/nothing"))[0] == 404


async def test_listings_off_and_without_the_listings_acl(site: Swift) -> None:
    await site.call("POST", "site", headers={"X-Container-Meta-Web-Listings": "false"})
    status, body, _ = await web_get(site, "site/")
    assert status == 404 and "Web Listing Disabled" in body
    await site.call(
        "POST",
        "site",
        headers={"X-Container-Meta-Web-Listings": "true", "X-Container-Read": ".r:*"},
    )
    assert (await web_get(site, "site/"))[0] == 401
    assert (await web_get(site, "site/img/logo.png"))[:2] == (200, "png")


async def test_the_owner_and_other_containers_are_served_as_usual(site: Swift) -> None:
    await site.call("POST", "site", headers={"X-Container-Meta-Web-Index": "index.html"})
    owner = await site.call("GET", "site")
    assert owner.status == 200 and "docs/guide.txt" in await owner.text()
    assert site.person is not None
    token = {"X-Auth-Token": site.person.token}
    as_web = await web_get(site, "site/", **token, **{"X-Web-Mode": "true"})
    assert as_web[:2] == (200, "<h1>home</h1>")
    assert (await site.call("PUT", "plain", headers=PUBLIC)).status == 201
    assert (await site.call("PUT", "plain/a", body=b"a")).status == 201
    listing = await web_get(site, "plain")
    assert listing[:2] == (200, "a\n")
    assert (await web_get(site, "plain/missing"))[0] == 404
    assert (await site.call("PUT", "private")).status == 201
    assert (await web_get(site, "private/"))[0] == 401


async def test_a_folder_marker_is_a_folder(site: Swift) -> None:
    await site.call("POST", "site", headers={"X-Container-Meta-Web-Listings": "true"})
    marker = {"Content-Type": "application/directory"}
    assert (await site.call("PUT", "site/img", body=b"", headers=marker)).status == 201
    status, _, headers = await web_get(site, "site/img")
    assert status == 301 and headers["Location"].endswith("/site/img/")
