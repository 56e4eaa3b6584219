"""HTTP routes for memberships (to be filled)."""

from fastapi import APIRouter

router = APIRouter()
