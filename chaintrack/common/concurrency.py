"""Optimistic concurrency over HTTP: ETag out, If-Match in, 412 when stale.

Versioned rows carry ``version`` (SQLAlchemy's version_id_col); the ETag is
that number. Updates must send If-Match (428 otherwise), so two clerks
editing the same record can never silently overwrite each other.
"""

from __future__ import annotations

import re
from typing import Annotated, Protocol

from fastapi import Header, Response

from chaintrack.errors import PreconditionFailed, PreconditionRequired


class Versioned(Protocol):
    version: int


def etag_for(obj: Versioned) -> str:
    return f'"{obj.version}"'


def set_etag(response: Response, obj: Versioned) -> None:
    response.headers["ETag"] = etag_for(obj)


def created(response: Response, location: str, obj: Versioned | None) -> None:
    """Headers of a 201 Created: where the new resource lives and, if it is versioned,
    its ETag, so a client can update it without reading it first.

    The status itself is declared on the route (``status_code=201``) so that the OpenAPI
    document shows it; ``obj`` is None for resources without a version (never updated).
    """
    response.headers["Location"] = location
    if obj is not None:
        set_etag(response, obj)


IF_MATCH = "If-Match"
# The If-Match values that can ever succeed: an entity-tag list holding at least one
# strong or weak tag of a version (``"3"``, ``W/"3"``, ``"2", "3"``). ``*`` and anything
# without such a tag are refused (428 or 412). The OpenAPI document states this pattern
# and marks the header required (``common/openapi.py``); the route itself keeps it
# optional so that a missing header is answered 428 with a problem, not 422.
IF_MATCH_PATTERN = r'^(?:[^,]*,)*\s*(?:W/)?"[1-9][0-9]*"\s*(?:,.*)?$'

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=256,
        description='The ETag you read, e.g. `"3"`. Required on updates; a stale one gets 412.',
        examples=['"1"'],
    ),
]


def check_if_match(if_match: str | None, obj: Versioned) -> None:
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(
            "Send If-Match with the ETag you read, so concurrent edits are not lost."
        )
    current = etag_for(obj)
    if re.fullmatch(IF_MATCH_PATTERN, if_match) is None:
        # "*" or no version tag at all: nothing the client read, exactly the blind
        # overwrite this check prevents (the document states this pattern).
        raise PreconditionRequired(
            f'If-Match must hold the ETag you read (e.g. "3"), not {if_match[:40]!r}.',
            current_etag=current,
        )
    tags = [t.strip().removeprefix("W/") for t in if_match.split(",")]
    if "*" in tags:
        # "*" would match any version: exactly the blind overwrite this check prevents.
        raise PreconditionRequired(
            'If-Match "*" is not accepted: send the ETag you read (e.g. "3").',
            current_etag=current,
        )
    if current in tags:
        return
    raise PreconditionFailed(
        f"The record is now at version {obj.version}; reload it and apply your change again.",
        current_etag=current,
    )
