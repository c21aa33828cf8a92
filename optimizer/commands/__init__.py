"""The click commands, with shared options and one error wrapper."""
