"""HTTP routes for maps (to be filled)."""

from fastapi import APIRouter

router = APIRouter()
