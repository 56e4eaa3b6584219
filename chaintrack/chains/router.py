"""HTTP routes for chains (to be filled)."""

from fastapi import APIRouter

router = APIRouter()
