"""Hard memory limits for ``containersync local exec``: one throwaway memory cgroup per run.

``MemoryCgroup.create(limit)`` makes a child of this process's own memory cgroup (cgroup v1
``memory`` controller, else cgroup v2 with ``memory`` enabled), sets the limit, disables swap
for it where the kernel allows, and returns it, or returns the reason it could not. The
isolation trampoline joins it (``cgroup.procs``) before exec'ing the command, so a command
over its limit is killed by the kernel's OOM killer. ``remove()`` kills whatever the command
left running in the group and deletes the group.

Invariants:
- The group is always a *child* of our own cgroup, so every limit above us still applies and
  nothing is moved out of the accounting that runs us.
- ``remove()`` is idempotent and never raises; a group it cannot delete is reported by the
  return value, not left silently.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from dataclasses import dataclass
from pathlib import Path

MEMORY_LIMITS = {"512m": 512 << 20, "1g": 1 << 30, "2g": 2 << 30, "4g": 4 << 30,
                 "16g": 16 << 30, "64g": 64 << 30}
DEFAULT_MEMORY_LIMIT = "1g"


def memory_limit_bytes(value: object) -> int:
    """Bytes for a container's ``memory_limit`` (``"512m"``..``"64g"``; missing -> 1g).

    An unknown spelling of the form ``<n>m``/``<n>g`` is honoured too; anything else falls
    back to the default, because the server already validated the value it stores.
    """
    text = str(value or DEFAULT_MEMORY_LIMIT).strip().lower()
    if text in MEMORY_LIMITS:
        return MEMORY_LIMITS[text]
    unit = {"m": 1 << 20, "g": 1 << 30}.get(text[-1:])
    if unit and text[:-1].isdigit() and int(text[:-1]) > 0:
        return int(text[:-1]) * unit
    return MEMORY_LIMITS[DEFAULT_MEMORY_LIMIT]


def own_cgroup_dirs() -> list[tuple[int, Path]]:
    """Candidate parent directories, v1 memory first: [(version, dir)]."""
    mounts: dict[str, Path] = {}
    for line in Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if len(rfields) < 3 or len(fields) < 5:
            continue
        fstype, superopts = rfields[0], rfields[2].split(",")
        if fstype == "cgroup" and "memory" in superopts:
            mounts.setdefault("v1", Path(fields[4]))
        elif fstype == "cgroup2":
            mounts.setdefault("v2", Path(fields[4]))
    found: list[tuple[int, Path]] = []
    for line in Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines():
        _, controllers, rel = line.split(":", 2)
        if "memory" in controllers.split(",") and "v1" in mounts:
            found.insert(0, (1, mounts["v1"] / rel.lstrip("/")))
        elif controllers == "" and "v2" in mounts:
            found.append((2, mounts["v2"] / rel.lstrip("/")))
    return found


@dataclass
class MemoryCgroup:
    path: Path
    version: int
    limit: int

    @classmethod
    def create(cls, limit: int) -> MemoryCgroup | str:
        """A fresh limited group, or the reason none could be made."""
        reasons: list[str] = []
        try:
            parents = own_cgroup_dirs()
        except OSError as exc:
            return f"cannot read cgroup setup ({exc})"
        for version, parent in parents:
            group = cls(parent / f"containersync-exec-{os.getpid()}-{secrets.token_hex(4)}",
                        version, limit)
            try:
                group._make()
                return group
            except OSError as exc:
                reasons.append(f"v{version} {parent}: {exc.strerror or exc}")
                group.remove()
        return "; ".join(reasons) or "no memory cgroup controller is mounted"

    def _make(self) -> None:
        if self.version == 2:
            parent_ctl = self.path.parent / "cgroup.subtree_control"
            if "memory" not in parent_ctl.read_text(encoding="ascii").split():
                parent_ctl.write_text("+memory", encoding="ascii")
        self.path.mkdir(mode=0o755)
        if self.version == 1:
            self._write("memory.limit_in_bytes", self.limit)
            self._write("memory.memsw.limit_in_bytes", self.limit, optional=True)
            self._write("memory.swappiness", 0, optional=True)
        else:
            self._write("memory.max", self.limit)
            self._write("memory.swap.max", 0, optional=True)
            self._write("memory.oom.group", 1, optional=True)

    def _write(self, name: str, value: int, *, optional: bool = False) -> None:
        target = self.path / name
        if optional and not target.exists():
            return
        try:
            target.write_text(f"{value}\n", encoding="ascii")
        except OSError:
            if not optional:
                raise

    def oom_kills(self) -> int:
        """How many processes the OOM killer killed in this group (0 if unknown)."""
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            text = (self.path / name).read_text(encoding="ascii")
        except OSError:
            return 0
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def remove(self) -> str | None:
        """Kill leftovers and delete the group; return why it could not be deleted."""
        if not self.path.exists():
            return None
        why: str | None = None
        for _ in range(50):
            for pid in self._pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            try:
                self.path.rmdir()
                return None
            except FileNotFoundError:
                return None
            except OSError as exc:
                why = exc.strerror or str(exc)
                time.sleep(0.02)  # killed tasks take a moment to leave the group
        return f"could not remove cgroup {self.path}: {why}"

    def _pids(self) -> list[int]:
        try:
            text = (self.path / "cgroup.procs").read_text(encoding="ascii")
        except OSError:
            return []
        return [int(p) for p in text.split() if p.isdigit()]
