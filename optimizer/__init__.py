"""horizon's engine: instances, network response times, solving and results."""

__version__ = "0.1.0"
