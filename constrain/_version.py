"""The library version; part of every cache key so artifacts never outlive the code that made them."""

__version__ = "0.1.0"
