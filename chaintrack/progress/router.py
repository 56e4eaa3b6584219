"""HTTP routes for progress (to be filled)."""

from fastapi import APIRouter

router = APIRouter()
