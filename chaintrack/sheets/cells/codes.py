"""Identifier cells: credit codes, region codes, project codes and short codes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chaintrack.identifiers import (
    IdentifierError,
    validate_internal_project_code,
    validate_national_project_code,
    validate_region_code,
    validate_uscc,
)
from chaintrack.sheets.cells.base import CellError, check_excel_error, clean, is_blank, nfkc


def _identifier(value: Any, validator: Callable[[str], str]) -> str | None:
    if is_blank(value):
        return None
    text = nfkc(clean(value)).lstrip("'")  # '9137... : the apostrophe that keeps Excel off
    check_excel_error(text)
    if not text.isalnum():
        text = re.sub(r"\s+", "", text)
    try:
        return validator(text)
    except IdentifierError as exc:
        raise CellError(exc.message, exc.kind) from None


def parse_uscc(value: Any) -> str | None:
    """统一社会信用代码, normalised (half-width, upper case) and checked."""
    return _identifier(value, validate_uscc)


def parse_region_code(value: Any) -> str | None:
    return _identifier(value, validate_region_code)


def parse_internal_code(value: Any) -> str | None:
    return _identifier(value, validate_internal_project_code)


def parse_national_code(value: Any) -> str | None:
    return _identifier(value, validate_national_project_code)


def parse_code(value: Any, *, max_length: int = 32) -> str | None:
    """A short code (chain code, node code): half-width, no spaces; case kept."""
    if is_blank(value):
        return None
    text = re.sub(r"\s+", "", nfkc(clean(value))).lstrip("'")
    check_excel_error(text)
    if len(text) > max_length:
        raise CellError(
            f"代码不能超过{max_length}位 / a code has at most {max_length} characters", "too_long"
        )
    return text
