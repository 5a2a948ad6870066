"""`GET /object/healthcheck` without a token: Swift's healthcheck middleware, for load
balancers that probe the object endpoint's host."""

from aiohttp import web

from service.http.health import database_problem

routes = web.RouteTableDef()


@routes.get("/healthcheck")
async def healthcheck(request: web.Request) -> web.Response:
    """200 `OK` as Swift answers; 503 when the database cannot be reached, since then
    no object request could be served."""
    problem = await database_problem(request)
    if problem is not None:
        return web.Response(status=503, text=f"UNAVAILABLE: {problem}")
    return web.Response(text="OK")
