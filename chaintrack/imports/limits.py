"""Import limits, read from the environment (``CHAINTRACK_IMPORT_*``) or a ``.env``
file, like the other settings (``chaintrack.config`` points here).

Each limit is far above what a real office file reaches and below what an attack file
needs; each is checked while the file is read, before the work is done, and answers
413 (the file or its unpacked parts are too big) or 422 (its content passes a limit,
or reading it passes the time budget) with a Chinese + English message for the clerk:

=====================================  ==========  =========================================
``CHAINTRACK_IMPORT_MAX_BYTES``        50 MiB      the uploaded file (413)
``CHAINTRACK_IMPORT_MAX_ROWS``         100,000     data rows (non-blank rows under the header)
``CHAINTRACK_IMPORT_MAX_SHEET_ROWS``   200,000     rows of the sheet, blank rows and jumps in
                                                   row numbers included
``CHAINTRACK_IMPORT_MAX_COLUMNS``      1,024       columns of a row
``CHAINTRACK_IMPORT_MAX_CELLS``        4,000,000   cells of the used range (rows x columns,
                                                   what the reader allocates for a sheet)
``CHAINTRACK_IMPORT_MAX_CELL_CHARS``   32,767      characters in one cell (Excel's own limit)
``CHAINTRACK_IMPORT_MAX_UNPACKED_MB``  512         a workbook's parts, unpacked (zip bombs; 413)
``CHAINTRACK_IMPORT_MAX_SHARED_STRINGS``  2,000,000  distinct texts of an .xlsx
``CHAINTRACK_IMPORT_MAX_SHARED_STRINGS_MB``  128   their unpacked size
``CHAINTRACK_IMPORT_TIME_BUDGET_SECONDS``  300     reading, checking and writing one upload;
                                                   the work stops then (and when the client
                                                   has gone)
=====================================  ==========  =========================================

The route reads them through :func:`import_limits` (a FastAPI dependency, so a test or a
deployment can override it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from chaintrack.sheets.files import Budget, MiB, ReadLimits
from chaintrack.sheets.reader import DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS

_READ = ReadLimits()


class ImportSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CHAINTRACK_IMPORT_", env_file=".env", extra="ignore"
    )

    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1024, description="largest upload")
    max_rows: int = Field(default=DEFAULT_MAX_ROWS, ge=1, description="most data rows per file")
    max_sheet_rows: int = Field(
        default=_READ.max_sheet_rows,
        ge=1,
        description="most rows of a sheet, blank rows and jumps in row numbers included",
    )
    max_columns: int = Field(default=_READ.max_columns, ge=1, description="most columns a row")
    max_cells: int = Field(
        default=_READ.max_cells, ge=1, description="most cells of a sheet's used range"
    )
    max_cell_chars: int = Field(
        default=_READ.max_cell_chars, ge=1, description="most characters in one cell"
    )
    max_unpacked_mb: float = Field(
        default=_READ.max_unpacked_bytes / MiB, gt=0, description="a workbook's parts, unpacked"
    )
    max_shared_strings: int = Field(
        default=_READ.max_shared_strings, ge=1, description="most distinct texts of an .xlsx"
    )
    max_shared_strings_mb: float = Field(
        default=_READ.max_shared_strings_bytes / MiB,
        gt=0,
        description="the unpacked size of an .xlsx's distinct texts",
    )
    time_budget_seconds: float = Field(
        default=300.0, gt=0, description="time one upload may take before its work stops"
    )


@dataclass(frozen=True)
class ImportLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    max_sheet_rows: int = _READ.max_sheet_rows
    max_columns: int = _READ.max_columns
    max_cells: int = _READ.max_cells
    max_cell_chars: int = _READ.max_cell_chars
    max_unpacked_bytes: int = _READ.max_unpacked_bytes
    max_shared_strings: int = _READ.max_shared_strings
    max_shared_strings_bytes: int = _READ.max_shared_strings_bytes
    time_budget_seconds: float | None = 300.0

    @property
    def max_mb(self) -> float:
        return self.max_bytes / (1024 * 1024)

    def read_limits(self) -> ReadLimits:
        return ReadLimits(
            max_bytes=self.max_bytes,
            max_rows=self.max_rows,
            # a sheet always has room for its data rows, header and title rows
            max_sheet_rows=max(self.max_sheet_rows, self.max_rows + 1000),
            max_columns=self.max_columns,
            max_cells=self.max_cells,
            max_cell_chars=self.max_cell_chars,
            max_unpacked_bytes=self.max_unpacked_bytes,
            max_shared_strings=self.max_shared_strings,
            max_shared_strings_bytes=self.max_shared_strings_bytes,
        )

    def budget(self, cancelled: threading.Event | None = None) -> Budget:
        """A fresh budget for one upload (the deadline starts now)."""
        return Budget(self.time_budget_seconds, cancelled)


@lru_cache
def _settings_limits() -> ImportLimits:
    s = ImportSettings()
    return ImportLimits(
        max_bytes=s.max_bytes,
        max_rows=s.max_rows,
        max_sheet_rows=s.max_sheet_rows,
        max_columns=s.max_columns,
        max_cells=s.max_cells,
        max_cell_chars=s.max_cell_chars,
        max_unpacked_bytes=int(s.max_unpacked_mb * MiB),
        max_shared_strings=s.max_shared_strings,
        max_shared_strings_bytes=int(s.max_shared_strings_mb * MiB),
        time_budget_seconds=s.time_budget_seconds,
    )


def import_limits() -> ImportLimits:
    """The limits in force (a dependency: ``app.dependency_overrides`` may replace it)."""
    return _settings_limits()
