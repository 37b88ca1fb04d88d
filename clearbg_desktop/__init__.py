"""ClearBG Desktop: local background removal for photographers."""

__version__ = "0.1.0"
