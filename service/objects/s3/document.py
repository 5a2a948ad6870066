"""S3's XML bodies: answers built from escaped elements, and request bodies parsed."""

from datetime import datetime
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from aiohttp import web

from service.objects.s3.errors import MalformedXML

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"


def element(tag: str, content: str | int | bool) -> str:
    """`<tag>content</tag>`, the text escaped (booleans as S3 writes them)."""
    text = str(content).lower() if isinstance(content, bool) else escape(str(content))
    return f"<{tag}>{text}</{tag}>"


def nested(tag: str, *children: str) -> str:
    """`<tag>` around elements already built."""
    return f"<{tag}>{''.join(children)}</{tag}>"


def timestamp(at: datetime) -> str:
    """A time as S3's listings write it: 2009-10-12T17:50:30.000Z."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def etag(md5: str) -> str:
    """An ETag as S3 shows it, quoted."""
    return md5 if md5.startswith('"') else f'"{md5}"'


def answer(root: str, *children: str) -> web.Response:
    """The XML document `<root xmlns=S3>children</root>`."""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{NAMESPACE}">'
        f"{''.join(children)}</{root}>"
    )
    return web.Response(text=body, content_type="application/xml")


def parse(body: bytes, root: str) -> ElementTree.Element:
    """The body's root element, namespaces dropped from every tag; 400 MalformedXML
    unless it is well-formed XML with a `root` root."""
    try:
        tree = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise MalformedXML() from None
    for node in tree.iter():
        node.tag = node.tag.rpartition("}")[2]
    if tree.tag != root:
        raise MalformedXML(f"The root element must be {root}.")
    return tree
