"""enterprises domain."""
