"""The APIs Kumo serves, each at its DevStack-style path prefix, and how each speaks errors."""

import enum

import msgspec
from aiohttp import web

OPENSTACK_REQUEST_ID = "x-openstack-request-id"
COMPUTE_REQUEST_ID = "x-compute-request-id"
AMZ_REQUEST_ID = "x-amz-request-id"


class FaultStyle(enum.Enum):
    """The error body shape of an OpenStack service (see service/http/fault.py)."""

    KEYSTONE = "keystone"
    NOVA = "nova"
    GLANCE = "glance"
    SWIFT = "swift"
    NEUTRON = "neutron"
    S3 = "s3"


class Api(msgspec.Struct, frozen=True, kw_only=True):
    """One API: its prefix, its fault style, the status for a non-JSON body where JSON is
    required, and the response headers that echo the request id."""

    name: str
    prefix: str
    fault_style: FaultStyle
    wrong_content_type: int = 415
    request_id_headers: tuple[str, ...] = (OPENSTACK_REQUEST_ID,)


ROOT = Api(name="root", prefix="", fault_style=FaultStyle.KEYSTONE, wrong_content_type=400)
IDENTITY = Api(
    name="identity", prefix="/identity", fault_style=FaultStyle.KEYSTONE, wrong_content_type=400
)
COMPUTE = Api(
    name="compute",
    prefix="/compute",
    fault_style=FaultStyle.NOVA,
    request_id_headers=(OPENSTACK_REQUEST_ID, COMPUTE_REQUEST_ID),
)
IMAGE = Api(name="image", prefix="/image", fault_style=FaultStyle.GLANCE)
OBJECT = Api(name="object", prefix="/object", fault_style=FaultStyle.SWIFT)
S3 = Api(
    name="s3",
    prefix="/s3",
    fault_style=FaultStyle.S3,
    request_id_headers=(OPENSTACK_REQUEST_ID, AMZ_REQUEST_ID),
)
NETWORK = Api(name="network", prefix="/network", fault_style=FaultStyle.NEUTRON)
EVENTS = Api(name="events", prefix="/events", fault_style=FaultStyle.KEYSTONE)
DASHBOARD = Api(name="dashboard", prefix="/dashboard", fault_style=FaultStyle.KEYSTONE)

API = web.AppKey("api", Api)
"""Set on each API's sub-application; names the API its requests belong to."""


def api_of(request: web.Request) -> Api:
    """The API whose sub-application matched `request` (unmatched paths too); else ROOT."""
    for app in reversed(request.match_info.apps):
        api = app.get(API)
        if api is not None:
            return api
    return ROOT
