"""StaticWeb: a publicly readable container served as a web site, as Swift's staticweb
middleware, for anonymous GETs and HEADs (and a token holder's with `X-Web-Mode: true`).

The container's metadata says how: `Web-Index` (the object served for the container or
a pseudo-folder, `index.html`), `Web-Listings: true` (an HTML listing where there is no
index; the read ACL must allow listings, `.rlistings`), `Web-Listings-CSS` (its style
sheet), `Web-Listings-Label` (instead of the path in its title), `Web-Error` (a 404 or
401 serves the object `<status><Web-Error>`, `404error.html`) and `Web-Directory-Type`
(the content type of folder markers, `application/directory`). A container with
neither index nor listings is served as usual.
"""

import html
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from service.errors import ApiError, NotFound
from service.http.api import OBJECT as API
from service.objects import acl
from service.objects import directory as rm
from service.objects.api.access import container_and_current, current
from service.objects.api.common import auth, db, denied, now, project_of
from service.objects.listing import LISTING_LIMIT, Query, Subdir, collect

Answer = Callable[[web.Request, rm.StoredObject, int], Awaitable[web.StreamResponse]]
"""How an object is answered (reading.answer), with the status to answer."""
_TRUE = ("true", "1", "yes", "on", "t", "y")


class _Site:
    """A container's web settings, and what a request of it needs to answer."""

    def __init__(self, request: web.Request, container: rm.Container, answer: Answer) -> None:
        meta = {
            k.removeprefix("x-container-meta-web-"): v.strip()
            for k, v in container.metadata.items()
            if k.startswith("x-container-meta-web-")
        }
        self.request = request
        self.container = container
        self.answer = answer
        self.index = meta.get("index", "")
        self.error = meta.get("error", "")
        self.listings_set = bool(meta.get("listings"))
        self.listings = meta.get("listings", "").lower() in _TRUE
        self.css = meta.get("listings-css", "")
        self.label = meta.get("listings-label", "")
        self.directory_type = meta.get("directory-type") or "application/directory"

    @property
    def served(self) -> bool:
        """Whether the container is a web site at all: an index, or Web-Listings set
        (even to false: a folder then answers that listings are off)."""
        return bool(self.index or self.listings_set)

    async def object(self, name: str) -> rm.StoredObject | None:
        """The unexpired object `name` of the site, if the caller may read it (ACL)."""
        request, container = self.request, self.container
        referer = request.headers.get("Referer")
        if not acl.may_read(
            auth(request), container.project_id, container.metadata, referer=referer
        ):
            return None
        try:
            return await current(request, container, name)
        except NotFound:
            return None

    async def has_objects_under(self, prefix: str) -> bool:
        """Whether any unexpired object's name starts with `prefix`."""
        at = now(self.request).timestamp()
        page = rm.Page(prefix=prefix)
        container = self.container
        return bool(
            await rm.objects_page(
                db(self.request), container.project_id, container.name, page, 1, at
            )
        )

    async def failed(self, error: ApiError) -> web.StreamResponse:
        """The error, or its page (`<status><Web-Error>`) with its status for a 401 or
        404 when the site has one the caller may read."""
        if self.error and error.code in (401, 404):
            page = await self.object(f"{error.code}{self.error}")
            if page is not None:
                return await self.answer(self.request, page, error.code)
        raise error

    async def index_or_listing(self, prefix: str) -> web.StreamResponse:
        """The index of the pseudo-folder `prefix` (empty: the container's), else its
        listing."""
        if self.index:
            page = await self.object(prefix + self.index)
            if page is not None:
                return await self.answer(self.request, page, 200)
        return await self.listing(prefix)

    async def listing(self, prefix: str) -> web.StreamResponse:
        """The HTML listing of the pseudo-folder: 404 when listings are off (a page
        saying so) or the folder is empty, 401/403 when the read ACL does not allow
        listings."""
        request = self.request
        if not self.listings:
            return await self.failed(NotFound(self._disabled_page()))
        referer = request.headers.get("Referer")
        metadata = self.container.metadata
        project_id = self.container.project_id
        if not acl.may_read(auth(request), project_id, metadata, referer=referer, listing=True):
            return await self.failed(denied(request))
        entries = await self._entries(prefix)
        if prefix and not entries:
            return await self.failed(NotFound())
        body = _listing_page(self._label(), self._css_link(prefix), prefix, entries)
        return web.Response(text=body, content_type="text/html", charset="UTF-8")

    async def _entries(self, prefix: str) -> list[rm.StoredObject | Subdir]:
        at = now(self.request).timestamp()
        container = self.container

        async def fetch(page: rm.Page, limit: int) -> list[rm.StoredObject]:
            return await rm.objects_page(
                db(self.request), container.project_id, container.name, page, limit, at
            )

        query = Query(rm.Page(prefix=prefix), LISTING_LIMIT, "/", "json", False)
        return await collect(fetch, query)

    def _label(self) -> str:
        path = self.request.path.removeprefix(API.prefix)
        if not self.label:
            return path
        return f"{self.label}/{'/'.join(path.split('/')[4:])}"

    def _css_link(self, prefix: str) -> str:
        if not self.css:
            return ""
        if self.css.startswith(("/", "http://", "https://")):
            href = quote(self.css, ":/")
        else:
            href = "../" * prefix.count("/") + quote(self.css)
        return f'  <link rel="stylesheet" type="text/css" href="{html.escape(href)}" />\n'

    def _disabled_page(self) -> str:
        index = (
            f"<h1>Index File Not Found</h1> <p>The owner of this web site has set"
            f" <b>X-Container-Meta-Web-Index: {html.escape(self.index)}</b>."
            " However, this file is not found.</p>"
            if self.index
            else ""
        )
        return (
            "<h1>Web Listing Disabled</h1><p>The owner of this web site has disabled web"
            " listing.</p><p>If you are the owner of this web site, you can enable web"
            f" listing by setting X-Container-Meta-Web-Listings.</p>{index}"
        )


def applies(request: web.Request) -> bool:
    """Whether a GET or HEAD is a web request: anonymous (not by temp URL), or with
    `X-Web-Mode: true`."""
    if request.method not in ("GET", "HEAD"):
        return False
    if request.headers.get("X-Web-Mode", "").lower() in _TRUE:
        return True
    return auth(request) is None and "temp_url_sig" not in request.query


def _redirect_with_slash(request: web.Request) -> web.Response:
    """301 to the same path with a trailing slash, as a browser needs for relative links."""
    return web.Response(status=301, headers={"Location": quote(request.path + "/")})


async def get_container(request: web.Request, answer: Answer) -> web.StreamResponse | None:
    """The site's index or listing for the container's path; None when the container
    is no web site (then it is listed as usual). 401/403 (or their page) when the
    container is not publicly readable, 404 when it does not exist."""
    found = await rm.container(db(request), project_of(request), request.match_info["container"])
    metadata = found.metadata if found else {}
    referer = request.headers.get("Referer")
    if not acl.may_read(auth(request), project_of(request), metadata, referer=referer):
        if found is None:
            raise denied(request)
        return await _Site(request, found, answer).failed(denied(request))
    if found is None:
        raise NotFound()
    site = _Site(request, found, answer)
    if not site.served:
        if request.headers.get("X-Web-Mode", "").lower() in _TRUE:
            raise NotFound()
        return None
    if not request.path.endswith("/"):
        return _redirect_with_slash(request)
    return await site.index_or_listing("")


async def get_object(request: web.Request, answer: Answer) -> web.StreamResponse:
    """The object; where there is none (or a folder marker), the index or listing of
    the pseudo-folder of that name, or a redirect to it with a slash, or the 404 page."""
    try:
        container, row = await container_and_current(request, write=False)
    except NotFound:
        container, row = None, None
    if container is not None and row is not None:
        site = _Site(request, container, answer)
        if not (row.content_type == site.directory_type and row.size <= 1):
            return await answer(request, row, 200)
    if container is None:
        found = await rm.container(
            db(request), project_of(request), request.match_info["container"]
        )
        if found is None:
            raise NotFound()
        container = found
    site = _Site(request, container, answer)
    if not site.served:
        raise NotFound()
    name = request.match_info["object"]
    folder = name if name.endswith("/") else name + "/"
    if site.index:
        page = await site.object(folder + site.index)
        if page is not None:
            if not name.endswith("/"):
                return _redirect_with_slash(request)
            return await answer(request, page, 200)
    if name.endswith("/"):
        return await site.listing(folder)
    if await site.has_objects_under(folder):
        return _redirect_with_slash(request)
    return await site.failed(NotFound())


def _listing_page(
    label: str, css: str, prefix: str, entries: list[rm.StoredObject | Subdir]
) -> str:
    """Swift's HTML listing: a table of the pseudo-folders, then the objects."""
    style = css or (
        '  <style type="text/css">\n'
        "   h1 {font-size: 1em; font-weight: bold;}\n"
        "   th {text-align: left; padding: 0px 1em 0px 1em;}\n"
        "   td {padding: 0px 1em 0px 1em;}\n"
        "   a {text-decoration: none;}\n"
        "  </style>\n"
    )
    rows = []
    if prefix:
        rows.append(_row("parent", "../", "../", "&nbsp;", "&nbsp;"))
    for entry in entries:
        if isinstance(entry, Subdir):
            name = entry.subdir[len(prefix) :]
            rows.append(_row("item subdir", _href(name), html.escape(name), "&nbsp;", "&nbsp;"))
    for entry in entries:
        if isinstance(entry, rm.StoredObject):
            name = entry.name[len(prefix) :]
            kind = " ".join(f"type-{html.escape(t.lower())}" for t in entry.content_type.split("/"))
            date = entry.last_modified.strftime("%Y-%m-%d %H:%M:%S")
            rows.append(
                _row(f"item {kind}", _href(name), html.escape(name), _size(entry.size), date)
            )
    title = html.escape(label)
    return (
        "<!DOCTYPE html>\n<html>\n <head>\n"
        f"  <title>Listing of {title}</title>\n{style} </head>\n <body>\n"
        f'  <h1 id="title">Listing of {title}</h1>\n  <table id="listing">\n'
        '   <tr id="heading">\n    <th class="colname">Name</th>\n'
        '    <th class="colsize">Size</th>\n    <th class="coldate">Date</th>\n   </tr>\n'
        + "".join(rows)
        + "  </table>\n </body>\n</html>\n"
    )


def _href(name: str) -> str:
    return "./" + quote(name).replace(".", "%2E")


def _row(kind: str, href: str, text: str, size: str, date: str) -> str:
    row_id = ' id="parent"' if kind == "parent" else ""
    cls = "item" if kind == "parent" else kind
    return (
        f'   <tr{row_id} class="{cls}">\n'
        f'    <td class="colname"><a href="{href}">{text}</a></td>\n'
        f'    <td class="colsize">{size}</td>\n    <td class="coldate">{date}</td>\n   </tr>\n'
    )


def _size(size: int) -> str:
    """Swift's human_readable: whole 1024ths, rounded at each step (1536 is 2Ki)."""
    suffixes = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi")
    index = 0
    while size >= 1024 and index < len(suffixes) - 1:
        size = round(size / 1024)
        index += 1
    return f"{size}{suffixes[index]}"
