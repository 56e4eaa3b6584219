"""HTTP routes for reference (to be filled)."""

from fastapi import APIRouter

router = APIRouter()
