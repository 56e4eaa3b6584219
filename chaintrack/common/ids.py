"""Record ids as the API reads them: one rule for every path and query parameter.

An id is written in plain ASCII digits, without sign, spaces, leading zeros or a
fraction, and fits the databases' 32-bit integer key: ``^[1-9][0-9]{0,9}$`` and at most
2147483647. Pydantic's lax integer parsing would read ``+2``, `` 2`` and ``2.0`` as 2,
and ``str.isdigit`` says yes to ``²`` which ``int`` then refuses; neither is used for ids.
Route parameters are typed ``StrictId`` (422 naming the parameter for anything else) and
code that reads an id from the raw request (the permission rules) calls ``parse_id``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import BeforeValidator

MAX_ID = 2_147_483_647
ID_PATTERN = r"^[1-9][0-9]{0,9}$"
NOT_AN_ID = (
    "应为1至2147483647之间的整数，只能由数字组成 / "
    "expected an id: plain digits (no sign, spaces, leading zeros or decimals), "
    "1 to 2147483647"
)

_ID = re.compile(r"[1-9][0-9]{0,9}", re.ASCII)


def parse_id(raw: object) -> int | None:
    """The id written in ``raw`` (a string of plain digits or an int), or None."""
    if isinstance(raw, str):
        if _ID.fullmatch(raw) is None:
            return None
        value = int(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    else:
        return None
    return value if 1 <= value <= MAX_ID else None


def strict_id(value: Any) -> int:
    """Pydantic before-validator: an id or a ValueError a clerk can read."""
    parsed = parse_id(value)
    if parsed is None:
        raise ValueError(NOT_AN_ID)
    return parsed


# The bounds come first so that the schema documents them as minimum/maximum; the
# validator runs before pydantic's own integer parsing, which therefore never sees text.
StrictId = Annotated[int, Ge(1), Le(MAX_ID), BeforeValidator(strict_id)]
