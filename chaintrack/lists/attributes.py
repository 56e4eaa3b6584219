"""Entry attributes checked against a list type's declared fields.

A list type declares ``fields`` (name, label, type, required, choices). An
entry's ``attributes`` must carry every required field, only declared fields,
and values of the declared type. Values are normalised for storage so they
round-trip exactly through JSON on both engines:

- text: a string (trimmed; an empty string counts as absent)
- integer: a JSON integer (or a string of digits), stored as a JSON integer
- decimal: a string such as ``"1250.50"`` (or a JSON integer), stored as the
  fixed-point string of the exact Decimal (JSON floats are refused: they are
  not exact)
- date: ``YYYY-MM-DD``, stored as that ISO string
- boolean: ``true`` / ``false``
- choice: one of the declared choices

``null`` means "no value" and is not stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from chaintrack.common.text import is_multiline, text_problem
from chaintrack.errors import FieldError
from chaintrack.models.enums import FieldType

TEXT_MAX_LENGTH = 2000
DECIMAL_MAX_DIGITS = 30
INTEGER_LIMIT = 2**63
_INTEGER_STRING = re.compile(r"^[+-]?\d{1,19}$")
_DATE_STRING = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class FieldSpec:
    """A declared field, read from the list type's stored ``fields``."""

    name: str
    label: str
    type: FieldType
    required: bool = False
    choices: tuple[str, ...] = ()

    @classmethod
    def from_stored(cls, raw: Mapping[str, Any]) -> FieldSpec:
        return cls(
            name=str(raw["name"]),
            label=str(raw.get("label") or raw["name"]),
            type=FieldType(raw.get("type", FieldType.TEXT)),
            required=bool(raw.get("required", False)),
            choices=tuple(str(c) for c in raw.get("choices") or ()),
        )


def parse_fields(stored: Iterable[Mapping[str, Any]] | None) -> list[FieldSpec]:
    return [FieldSpec.from_stored(f) for f in stored or ()]


class AttributeValueError(ValueError):
    """One attribute's value does not fit its field (message is Chinese / English)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _type_error(
    spec: FieldSpec, expected_zh: str, expected_en: str, value: Any
) -> AttributeValueError:
    shown = repr(value) if not isinstance(value, str) else f"“{value}”"
    return AttributeValueError(
        "attribute_type",
        f"“{spec.label}”应为{expected_zh}，实际为{shown} / must be {expected_en}",
    )


def normalise_value(spec: FieldSpec, value: Any) -> Any:
    """The storage form of ``value`` for ``spec``; raises AttributeValueError if it does not fit.

    ``value`` is never None here (None means absent and is handled by the caller).
    """
    kind = spec.type
    if kind is FieldType.TEXT:
        if not isinstance(value, str):
            raise _type_error(spec, "文本", "a string", value)
        text = value.strip()
        problem = text_problem(text, multiline=is_multiline(TEXT_MAX_LENGTH))
        if problem is not None:
            raise AttributeValueError("attribute_text", f"“{spec.label}”{problem}")
        if len(text) > TEXT_MAX_LENGTH:
            raise AttributeValueError(
                "attribute_too_long",
                f"“{spec.label}”不能超过{TEXT_MAX_LENGTH}字 / "
                f"must be at most {TEXT_MAX_LENGTH} characters",
            )
        return text
    if kind is FieldType.INTEGER:
        if isinstance(value, bool):
            raise _type_error(spec, "整数", "an integer", value)
        if isinstance(value, str) and _INTEGER_STRING.fullmatch(value.strip()):
            value = int(value.strip())
        if not isinstance(value, int):
            raise _type_error(spec, "整数", "an integer", value)
        if not -INTEGER_LIMIT < value < INTEGER_LIMIT:
            raise AttributeValueError(
                "attribute_range", f"“{spec.label}”超出范围 / integer out of range"
            )
        return value
    if kind is FieldType.DECIMAL:
        if isinstance(value, (bool, float)):
            raise _type_error(
                spec,
                "以字符串表示的精确数值（如“1250.50”）",
                'an exact decimal sent as a string, e.g. "1250.50"',
                value,
            )
        if isinstance(value, int):
            value = str(value)
        if not isinstance(value, str):
            raise _type_error(spec, "数值", 'a decimal string, e.g. "1250.50"', value)
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise _type_error(spec, "数值", 'a decimal string, e.g. "1250.50"', value) from None
        if not number.is_finite():
            raise _type_error(spec, "有限数值", "a finite decimal", value)
        digits = number.as_tuple()
        exponent = digits.exponent if isinstance(digits.exponent, int) else 0
        # Bound the fixed-point form before building it ("1E+999999999" is finite).
        if (
            len(digits.digits) > DECIMAL_MAX_DIGITS
            or not -DECIMAL_MAX_DIGITS <= exponent <= DECIMAL_MAX_DIGITS
            or len(digits.digits) + max(exponent, 0) > DECIMAL_MAX_DIGITS
        ):
            raise AttributeValueError(
                "attribute_range",
                f"“{spec.label}”位数过多（最多{DECIMAL_MAX_DIGITS}位） / "
                f"at most {DECIMAL_MAX_DIGITS} digits",
            )
        return format(number, "f")
    if kind is FieldType.DATE:
        if isinstance(value, str) and _DATE_STRING.fullmatch(value.strip()):
            try:
                return dt.date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                pass
        raise _type_error(spec, "日期（YYYY-MM-DD）", "an ISO date YYYY-MM-DD", value)
    if kind is FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise _type_error(spec, "true或false", "true or false", value)
        return value
    if kind is FieldType.CHOICE:
        if not isinstance(value, str) or value.strip() not in spec.choices:
            allowed = "、".join(spec.choices)
            raise AttributeValueError(
                "attribute_choice",
                f"“{spec.label}”只能取：{allowed}；实际为{value!r} / "
                f"must be one of: {', '.join(spec.choices)}",
            )
        return value.strip()
    raise AssertionError(f"unhandled field type {kind}")  # pragma: no cover


def validate_attributes(
    fields: list[FieldSpec], values: Mapping[str, Any], *, prefix: str = "attributes"
) -> tuple[dict[str, Any], list[FieldError]]:
    """Normalised attributes and the errors found (empty when all is well).

    Errors name ``attributes.<field>``; every problem is reported, not only the first.
    """
    by_name = {f.name: f for f in fields}
    out: dict[str, Any] = {}
    errors: list[FieldError] = []

    def err(name: str, code: str, message: str) -> None:
        errors.append(
            FieldError(location="body", field=f"{prefix}.{name}", message=message, code=code)
        )

    for name, value in values.items():
        spec = by_name.get(name)
        if spec is None:
            known = ", ".join(by_name) or "（无 / none）"
            err(
                name,
                "attribute_unknown",
                f"清单类型未定义字段“{name}” / unknown attribute; this list type declares: {known}",
            )
            continue
        if value is None:
            continue
        try:
            normalised = normalise_value(spec, value)
        except AttributeValueError as exc:
            err(name, exc.code, exc.message)
            continue
        if normalised == "":
            continue
        out[name] = normalised

    for spec in fields:
        if spec.required and spec.name not in out and spec.name in by_name:
            already = any(e.field == f"{prefix}.{spec.name}" for e in errors)
            if not already:
                err(
                    spec.name,
                    "attribute_required",
                    f"必填字段“{spec.label}”缺失 / required attribute is missing",
                )
    return out, errors
