"""HTTP routes for enterprises (to be filled)."""

from fastapi import APIRouter

router = APIRouter()
