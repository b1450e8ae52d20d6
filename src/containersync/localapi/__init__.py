"""The local Containers API backend: a real HTTP server with the live API's shapes.

Modules: ``store`` (state in a data dir: SQLite metadata + one blob per file), ``validate``
(pure request checks), ``wire`` (ids and JSON shapes), ``app`` (``/v1`` routes),
``admin`` (``/_local`` clock, faults, assistant-written files), ``faults``, ``clock``,
``embedded`` (uvicorn in a thread), ``errors`` (the backend's error answers).
"""
