"""dialogsmith: synthetic spoken-dialogue data for end-to-end speech dialogue models."""

__version__ = "0.1.0"
