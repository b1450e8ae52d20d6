"""What a plan would change, counted: a dry run's answer to "what would you do?".

``preview(plan)`` counts the files each side would gain or lose and the bytes that would
move, with the same counters a real run reports (``uploaded``, ``downloaded``,
``deleted_remote``, ``deleted_local``, ``conflicts``), so a dry run and the run after it
can be compared field by field. Recording or forgetting a base changes no file and is not
counted. Pure: it reads the plan only.
"""

from __future__ import annotations

from dataclasses import dataclass

from containersync.model.plan import (
    Action,
    DeleteRemote,
    Download,
    Plan,
    SaveConflictCopy,
    TrashLocal,
    Upload,
)


@dataclass(frozen=True)
class Preview:
    upload: int = 0
    upload_bytes: int = 0
    download: int = 0
    #: as far as the listing says: an object listed with ``bytes: null`` (the live
    #: service's files the assistant wrote) counts in ``download_unsized`` instead
    download_bytes: int = 0
    download_unsized: int = 0
    delete_remote: int = 0
    delete_local: int = 0
    conflict: int = 0

    @property
    def changes(self) -> bool:
        """Whether carrying the plan out would change a file on either side."""
        return bool(self.upload or self.download or self.delete_remote or self.delete_local
                    or self.conflict)

    def to_dict(self) -> dict[str, int]:
        """The ``would_*`` fields of ``sync --json`` (docs/json.md)."""
        return {f"would_{name}": value for name, value in self.__dict__.items()}


def action_bytes(action: Action) -> int | None:
    """The bytes ``action`` would move; ``None`` when it moves none or the size is unknown."""
    if isinstance(action, Upload):
        return action.local.size
    if isinstance(action, Download | SaveConflictCopy):
        return action.remote.bytes
    return None


def preview(plan: Plan) -> Preview:
    counts = {"upload": 0, "upload_bytes": 0, "download": 0, "download_bytes": 0,
              "download_unsized": 0, "delete_remote": 0, "delete_local": 0, "conflict": 0}
    for action in plan.actions:
        known = action_bytes(action)
        size = known or 0
        if isinstance(action, Download | SaveConflictCopy) and known is None:
            counts["download_unsized"] += 1
        if isinstance(action, Upload):
            counts["upload"] += 1
            counts["upload_bytes"] += size
        elif isinstance(action, Download):
            counts["download"] += 1
            counts["download_bytes"] += size
        elif isinstance(action, SaveConflictCopy):
            counts["conflict"] += 1
            counts["download_bytes"] += size
        elif isinstance(action, DeleteRemote):
            counts["delete_remote"] += 1
        elif isinstance(action, TrashLocal):
            counts["delete_local"] += 1
    return Preview(**counts)
