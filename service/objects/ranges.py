"""HTTP byte ranges as Swift serves them: parsing `Range` against an object's size."""

import re

from service.errors import ApiError

_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class RangeNotSatisfiable(ApiError):
    code = 416
    explanation = "The Range requested is not available."

    def __init__(self, size: int):
        super().__init__(headers={"Content-Range": f"bytes */{size}"})


def parse_ranges(header: str | None, size: int) -> list[tuple[int, int]] | None:
    """The satisfiable ranges of a `Range` header as (first, last) byte pairs, or None
    when the header is absent or malformed (the whole object is then served).

    Raises RangeNotSatisfiable (416) when the header is valid but no range overlaps the
    object.
    """
    if not header or not header.strip().lower().startswith("bytes="):
        return None
    ranges: list[tuple[int, int]] = []
    for spec in header.strip()[len("bytes=") :].split(","):
        match = _SPEC.match(spec)
        if match is None or match.group(1) == match.group(2) == "":
            return None
        first, last = match.group(1), match.group(2)
        if first == "":
            suffix = int(last)
            if suffix > 0 and size > 0:
                ranges.append((max(size - suffix, 0), size - 1))
            continue
        start = int(first)
        if last != "" and int(last) < start:
            return None
        end = size - 1 if last == "" else int(last)
        if start < size:
            ranges.append((start, min(end, size - 1)))
    if not ranges:
        raise RangeNotSatisfiable(size)
    return ranges
