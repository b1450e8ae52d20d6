"""Skills in a container spec: a reference as the live API spells it, or a local folder zipped
and sent inline (``{"type": "inline", "name", "description", "source": {"type": "base64",
"media_type": "application/zip", "data"}}``, see API_NOTES).

Invariants:
- A symbolic link is never followed: the folder is walked with ``os.fwalk`` (directory
  descriptors, no link followed) and every file is opened ``O_NOFOLLOW`` relative to its
  folder's descriptor, so a link, or a folder swapped for a link mid-walk, can never lead
  outside the skill folder. A link in the folder is refused, not skipped: a skill missing
  a file would fail in the sandbox, far from the cause.
- Bounded: at most ``MAX_SKILL_FILES`` files and ``MAX_SKILL_BYTES`` bytes (uncompressed);
  a folder over either is refused before anything is read into memory.
- The zip is deterministic (sorted entries, fixed times, only the executable bit kept), so
  one folder always gives the same bytes.
- Every refusal is a ``ConfigError`` naming the field, the folder and a fix.
"""

from __future__ import annotations

import base64
import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from containersync.errors import ConfigError

if TYPE_CHECKING:
    from containersync.config_spec import SkillConfig

#: bounds of one inline skill (the live service's are not published; these keep a create
#: body to tens of MiB)
MAX_SKILL_FILES = 500
MAX_SKILL_BYTES = 50 * 1024 * 1024
MANIFEST = "SKILL.md"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class _Refused(Exception):
    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.fix = fix


@dataclass(frozen=True)
class _Entry:
    rel: str
    dir_fd: int
    name: str
    size: int


def _entries(root: Path) -> Iterator[_Entry]:
    """Every regular file below ``root`` (links refused), with the bounds checked as it goes.
    ``dir_fd`` is valid only until the next item. ``root`` itself may be a link: the user
    named it; nothing below it is followed."""
    root = Path(os.path.realpath(root))
    try:
        info = os.stat(root)
    except FileNotFoundError:
        raise _Refused("does not exist", "create the folder, or fix path") from None
    except OSError as exc:
        raise _Refused(f"cannot be read: {exc.strerror}", "check its permissions") from None
    if not stat.S_ISDIR(info.st_mode):
        raise _Refused("is not a folder", "point path at the skill's folder (holding SKILL.md)")
    count = total = 0
    for folder, dirs, files, dir_fd in os.fwalk(root, follow_symlinks=False):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            rel = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if stat.S_ISLNK(st.st_mode):
                raise _Refused(f"holds a symbolic link, {rel!r}; links are never followed",
                               "replace the link by the file or folder it points to")
            if stat.S_ISDIR(st.st_mode):
                continue
            if not stat.S_ISREG(st.st_mode):
                raise _Refused(f"holds {rel!r}, which is not a regular file",
                               "remove it from the skill folder")
            count += 1
            total += st.st_size
            if count > MAX_SKILL_FILES:
                raise _Refused(f"holds more than {MAX_SKILL_FILES} files",
                               "keep only what the skill needs in its folder")
            if total > MAX_SKILL_BYTES:
                raise _Refused(f"holds more than {MAX_SKILL_BYTES // (1024 * 1024)} MiB",
                               "keep only what the skill needs in its folder, or upload it "
                               "as a skill and use skill_id")
            yield _Entry(rel, dir_fd, name, st.st_size)


def _refusal(skill: SkillConfig, field: str, exc: _Refused, file: str | None) -> ConfigError:
    return ConfigError(f"skill folder {str(skill.path)!r} {exc}", file=file,
                       field=f"{field}.path", fix=exc.fix)


def check_skill(skill: SkillConfig, *, field: str, file: str | None = None) -> None:
    """Refuse an inline skill's folder that is missing, too large, holds links or no
    SKILL.md; reads only metadata. A reference passes unchecked."""
    if skill.path is None:
        return
    try:
        names = {e.rel for e in _entries(skill.path)}
    except _Refused as exc:
        raise _refusal(skill, field, exc, file) from None
    if MANIFEST not in names:
        raise _refusal(skill, field, _Refused(
            f"has no {MANIFEST} at its top", f"point path at the folder holding {MANIFEST}"),
            file)


def _zip(root: Path) -> bytes:
    import zipfile  # here: only an inline skill is zipped (~0.02 s of every start-up)

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in _entries(root):
            fd = os.open(entry.name, _OPEN_FLAGS, dir_fd=entry.dir_fd)
            with os.fdopen(fd, "rb") as f:
                mode = os.fstat(fd).st_mode
                if not stat.S_ISREG(mode):  # swapped since the walk looked
                    raise _Refused(f"changed while read ({entry.rel!r})", "try again")
                # RACE: a file growing after the walk counted it is read only up to the
                # size counted, so the bound holds whatever happens meanwhile
                data = f.read(entry.size)
            info = zipfile.ZipInfo(entry.rel, _ZIP_TIME)
            info.external_attr = (stat.S_IFREG | (0o755 if mode & 0o100 else 0o644)) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


def skill_body(skill: SkillConfig, *, field: str) -> dict[str, Any]:
    """The create body's entry for ``skill`` (reading and zipping an inline folder)."""
    if skill.skill_id is not None:
        ref: dict[str, Any] = {"type": "skill_reference", "skill_id": skill.skill_id}
        if skill.version is not None:
            ref["version"] = skill.version
        return ref
    assert skill.path is not None and skill.description is not None
    check_skill(skill, field=field)
    try:
        data = _zip(skill.path)
    except _Refused as exc:
        raise _refusal(skill, field, exc, None) from None
    except OSError as exc:
        raise _refusal(skill, field, _Refused(f"cannot be read: {exc.strerror}",
                                              "check its permissions"), None) from None
    return {"type": "inline", "name": skill.inline_name, "description": skill.description,
            "source": {"type": "base64", "media_type": "application/zip",
                       "data": base64.b64encode(data).decode("ascii")}}
