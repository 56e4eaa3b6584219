"""The monthly dispatch round: rounds, reporters, review, the chase list and warnings."""
