"""taskforce: cross-border cooperation against online child sexual exploitation."""

__version__ = "0.1.0"
