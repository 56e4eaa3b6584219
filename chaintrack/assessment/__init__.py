"""The yearly assessment (考核): annual task lists, indicators, targets, schemes, scores."""
