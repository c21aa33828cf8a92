"""horizon: where to station reserves and pooled air assets, how many, at what cost."""

__version__ = "0.2.0"
