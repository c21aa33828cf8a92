"""What a solve returns: the `Solution` value, its files, maps and reports."""
