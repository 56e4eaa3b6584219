"""Response bodies of imports: the per-row report, errors and summary counts."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from chaintrack.errors import FieldError


class ImportMode(StrEnum):
    DRY_RUN = "dry_run"
    COMMIT = "commit"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ERROR = "error"


ACTION_ZH = {
    Action.CREATE: "新增",
    Action.UPDATE: "更新",
    Action.UNCHANGED: "不变",
    Action.ERROR: "错误",
}


class ImportEntity(StrEnum):
    ENTERPRISES = "enterprises"
    DESIGNATIONS = "designations"
    MEMBERSHIPS = "memberships"
    PROJECTS = "projects"
    PROGRESS = "progress"


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


class RowFieldError(FieldError):
    """One problem in one cell of the file (``location`` is ``file``)."""

    row: int = Field(description="Row number as Excel shows it (title rows counted)", examples=[7])
    column: str = Field(description="The column header", examples=["统一社会信用代码"])
    value: str | None = Field(default=None, description="What the cell held, as text")


class RowOutcome(BaseModel):
    row: int = Field(examples=[2])
    action: Action = Field(description="create / update / unchanged / error")
    key: str = Field(description="The row's natural key", examples=["91370100MA3C00001X"])
    changes: list[str] = Field(
        default_factory=list,
        description="Fields an update changes (empty for create / unchanged)",
        examples=[["name", "figures.revenue"]],
    )


class ImportSummary(BaseModel):
    rows: int = Field(description="Data rows read (blank rows skipped)", examples=[120])
    create: int = 0
    update: int = 0
    unchanged: int = 0
    error: int = Field(default=0, description="Rows with at least one error")


class FileInfo(BaseModel):
    format: str = Field(examples=["xlsx"])
    sheet: str | None = Field(default=None, examples=["企业"])
    encoding: str | None = Field(default=None, description="CSV only", examples=["utf-8-sig"])
    header_row: int = Field(examples=[1])
    columns: list[str] = Field(description="Fields recognised in the header")
    ignored_headers: list[str] = Field(
        default_factory=list, description="Headers that match no column (their cells are ignored)"
    )


class ImportReport(BaseModel):
    """预检或导入结果 / the result of a dry run or a commit."""

    entity: str = Field(examples=["enterprises"])
    mode: ImportMode
    committed: bool = Field(description="True when the rows were written (commit without errors)")
    file: FileInfo
    summary: ImportSummary
    errors: list[RowFieldError] = Field(
        default_factory=list, description="Every error with row, column and message"
    )
    errors_truncated: bool = Field(
        default=False, description="More errors than listed (the summary counts all rows)"
    )
    rows: list[RowOutcome] = Field(default_factory=list, description="What happens to each row")
    rows_truncated: bool = Field(
        default=False, description="More rows than listed (the summary counts all rows)"
    )
    message: str = Field(
        description="One line for the clerk",
        examples=["预检通过：新增3行，更新1行，不变0行 / dry run ok"],
    )
