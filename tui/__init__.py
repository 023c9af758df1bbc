"""n9s: K9s for the node."""

__version__ = "0.1.0"
