"""A request's audit record joined to the handler's last append.

The audit middleware appends each record after the handler answered: one more round
trip and commit per call. A handler whose answer is certain once its last append
commits (nothing after it can fail) may put the record into that append instead; the
middleware then appends none. The middleware offers the record through the request, so
handlers need not import it.
"""

from collections.abc import Callable, Sequence

from aiohttp import web

from events.store import StreamAppend

Offer = Callable[[web.Request, int, Sequence[StreamAppend]], StreamAppend | None]
OFFER: web.RequestKey[Offer] = web.RequestKey("audit_offer")
"""Set by the audit middleware: what makes a request's record for a given final status,
joining the given appends, as an append (None when a request with that status is not
audited). A plain function, not one bound to the request: a request holding a reference
to itself would leave every request to the cyclic garbage collector."""
JOINED = web.RequestKey("audit_joined", int)
"""The status the request's audit record committed with, in the handler's append."""


def joined(
    request: web.Request, status: int, appends: Sequence[StreamAppend] = ()
) -> StreamAppend | None:
    """The request's audit record for answering `status`, to append with the handler's
    last events (`appends`: its target is what they make, e.g. a new port); None when
    there is none to join. Call `committed` once that append committed."""
    offer = request.get(OFFER)
    return None if offer is None else offer(request, status, appends)


def committed(request: web.Request, status: int) -> None:
    """The append carrying `joined(request, status)` committed."""
    request[JOINED] = status
