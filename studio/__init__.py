"""Enhance Studio: compare image and video enhancement models side by side."""

__version__ = "0.1.0"
