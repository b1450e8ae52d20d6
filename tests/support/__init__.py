"""Shared test helpers (import as ``support.<module>``; ``tests/`` is on ``sys.path``)."""
