"""Spreadsheet import and export of the register (导入导出)."""
