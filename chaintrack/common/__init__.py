"""Pieces every domain package shares: session dependency, pagination, ETags, schemas."""
