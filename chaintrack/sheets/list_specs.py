"""The spec of a list type's entries, built from the list type's stored fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chaintrack.models.enums import FieldType
from chaintrack.sheets.columns import Column
from chaintrack.sheets.kinds import ColumnKind
from chaintrack.sheets.sheetspec import SheetSpec
from chaintrack.sheets.spec_helpers import note, text

_FIELD_KINDS = {
    FieldType.TEXT: ColumnKind.MULTILINE,
    FieldType.INTEGER: ColumnKind.INTEGER,
    FieldType.DECIMAL: ColumnKind.DECIMAL,
    FieldType.DATE: ColumnKind.DATE,
    FieldType.BOOLEAN: ColumnKind.BOOLEAN,
    FieldType.CHOICE: ColumnKind.CHOICE,
}

_REF_COLUMNS = {
    "enterprise": Column(
        "uscc",
        "统一社会信用代码",
        ColumnKind.USCC,
        aliases=("信用代码",),
        help="条目对应的企业（可不填）",
    ),
    "project": Column(
        "project_code",
        "项目编号",
        ColumnKind.INTERNAL_CODE,
        aliases=("internal_code",),
        help="条目对应的项目编号（可不填）",
    ),
    "node": Column(
        "node_code",
        "图谱节点代码",
        ColumnKind.CODE,
        max_length=32,
        aliases=("环节代码", "节点代码"),
        help="条目对应的图谱节点代码（可不填）",
    ),
}


def list_entry_spec(
    fields: Sequence[Mapping[str, Any]] | None,
    *,
    entry_ref: str | None = None,
    name_zh: str = "清单条目",
    code: str = "list_entries",
) -> SheetSpec:
    """The spec of a list type's entries, from its stored ``fields`` JSON
    (``[{"name", "label", "type", "required", "choices"}]``) and ``entry_ref``.

    Attribute values come out in the JSON storage form of ``ListEntry.attributes``
    (decimals as fixed-point strings, dates as ISO strings) under ``attributes``.
    """
    columns: list[Column] = [
        Column("position", "序号", ColumnKind.INTEGER, min_value=0, help="清单中的排序，可不填"),
        text("title", "名称", 200, required=True, aliases=("条目名称", "标题")),
    ]
    if entry_ref in _REF_COLUMNS:
        columns.append(_REF_COLUMNS[entry_ref])
    fixed = {c.field for c in columns} | {"note"}
    fixed_headers = {c.header for c in columns} | {"备注"}
    for raw in fields or ():
        name = str(raw["name"])
        label = str(raw.get("label") or name)
        kind = FieldType(raw.get("type", FieldType.TEXT))
        field_name = f"attributes.{name}" if name in fixed else name
        header = f"{label}（{name}）" if label in fixed_headers else label
        columns.append(
            Column(
                field_name,
                header,
                _FIELD_KINDS[kind],
                required=bool(raw.get("required", False)),
                choices=tuple(str(c) for c in raw.get("choices") or ()),
                target=f"attributes.{name}",
                max_length=2000 if kind is FieldType.TEXT else None,
                unit="万元" if kind is FieldType.DECIMAL and "万元" in label else None,
                storage=True,
                help=str(raw.get("help") or raw.get("description") or ""),
            )
        )
    columns.append(note("note", "备注"))
    return SheetSpec(
        name=code,
        title_zh=name_zh,
        title_en="List entries",
        key=("title",),
        columns=tuple(columns),
        notes=("每行一个清单条目。",),
        sparse_groups=("attributes",),
    )
