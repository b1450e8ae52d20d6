"""The SQLite index (base, intents, status) and the per-mapping process lock."""

from containersync.index.lock import MappingLock
from containersync.index.records import (
    ConflictRow,
    HaltState,
    Intent,
    MappingState,
    ProblemRow,
)
from containersync.index.store import Index
from containersync.index.write import WriteTx
from containersync.model.kinds import IntentKind

__all__ = [
    "ConflictRow",
    "HaltState",
    "Index",
    "Intent",
    "IntentKind",
    "MappingLock",
    "MappingState",
    "ProblemRow",
    "WriteTx",
]
