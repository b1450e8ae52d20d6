"""containersync: keep local folders mirrored with OpenAI Containers."""

__version__ = "0.1.0"
