"""chains domain."""
