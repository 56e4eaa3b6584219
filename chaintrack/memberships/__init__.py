"""memberships domain."""
