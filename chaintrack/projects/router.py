"""HTTP routes for projects (to be filled)."""

from fastapi import APIRouter

router = APIRouter()
