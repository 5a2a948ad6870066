"""Who an audited request acted as: its token's caller, or, for an authentication (which
carries no token), the user the identity API found it claiming to be."""

from aiohttp import web

from service.audit.events import Initiator
from service.auth import AuthContext

CLAIMED = web.RequestKey("audit_claimed", Initiator)
"""Set by the token API on an authentication request: the user it names (as far as it
is known) and, once authenticated, that user's scope and roles. Never a password."""


def initiator_of(auth: AuthContext) -> Initiator:
    """The initiator of a call made with a valid token (without the host part)."""
    return Initiator(
        user_id=auth.user_id,
        user_name=auth.user_name,
        project_id=auth.project_id,
        domain_id=auth.domain_id or auth.project_domain_id,
        roles=tuple(sorted(auth.role_names)),
    )
