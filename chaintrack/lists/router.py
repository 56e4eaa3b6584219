"""HTTP routes for lists (to be filled)."""

from fastapi import APIRouter

router = APIRouter()
