"""HTTP routes for spreadsheet import and export (to be filled)."""

from fastapi import APIRouter

router = APIRouter(tags=["imports"])
