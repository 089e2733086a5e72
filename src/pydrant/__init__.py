"""pydrant: a vector database that speaks Qdrant's API."""

__version__ = "0.1.0"
