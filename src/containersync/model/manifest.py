"""The container manifest: one JSON file in the sandbox mapping each synced file's logical
path (its path in the local folder) to the sandbox path the server gave it.

Pure: what the manifest says, whether one is needed, and which listed objects are
manifests; ``engine.manifest`` uploads and deletes it.

Choices (documented in docs/python-api.md and docs/syncing.md):
- The manifest is written only when some synced file's sandbox path differs from
  ``<remote root>/<logical path>`` (the server chose the paths, as the live service does).
  Where the server honours upload paths the tree itself is the map, so no manifest is kept
  (one left from earlier is deleted).
- It is asked for at ``<remote root>/containersync-manifest.json``; the live service puts
  it at ``<remote root>/<32 hex>-containersync-manifest.json``. Either name, directly under
  the remote root, is reserved: an object there that is not one of our uploads of a user
  file is a manifest, never a user file (never pulled, never counted), and a local file
  named ``containersync-manifest.json`` in the local root is refused (a problem).
- The content is a function of the synced files only (no timestamp), so a sync that changes
  nothing writes nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet

from containersync.model.entry import BaseEntry, Problem, RemoteObject
from containersync.model.paths import local_to_remote

MANIFEST_NAME = "containersync-manifest.json"
MANIFEST_FORMAT = 1
RESERVED_NAME = "reserved-name"
_NAME_RE = re.compile(r"^(?:[0-9a-f]{32}-)?" + re.escape(MANIFEST_NAME) + r"$")


def manifest_request_path(remote_root: str) -> str:
    """The sandbox path the manifest is uploaded to (a server may choose another)."""
    return local_to_remote(MANIFEST_NAME, remote_root)


def is_manifest_path(remote_path: str, remote_root: str) -> bool:
    """A manifest's name directly under the remote root (plain or server-prefixed)."""
    if not remote_path.endswith(MANIFEST_NAME):  # every other object, cheaply
        return False
    root = remote_root.rstrip("/") + "/"
    if not remote_path.startswith(root):
        return False
    rest = remote_path[len(root):]
    return "/" not in rest and bool(_NAME_RE.match(rest))


def sandbox_paths(bases: Mapping[str, BaseEntry]) -> dict[str, str]:
    """Logical path -> sandbox path of every file the container holds now (sorted)."""
    # sorted keys, not sorted items: a pair per file was made beside the whole base
    return {p: b.remote_path for p in sorted(bases)
            if (b := bases[p]).remote_id is not None and b.remote_path is not None}


def needed(paths: Mapping[str, str], remote_root: str) -> bool:
    """True when the sandbox tree is not the folder tree (some path was server-chosen)."""
    # the plain spelling first: a base's path is already a clean relative path, so this
    # is local_to_remote's answer without validating 100,000 paths again
    prefix = local_to_remote("x", remote_root)[:-1]
    return any(sandbox != prefix + rel and sandbox != local_to_remote(rel, remote_root)
               for rel, sandbox in paths.items())


def render(paths: Mapping[str, str], remote_root: str) -> bytes:
    """The manifest's bytes: deterministic (sorted keys, no clock), UTF-8 JSON."""
    doc = {"containersync_manifest": MANIFEST_FORMAT, "remote_root": remote_root,
           "files": dict(sorted(paths.items()))}
    return (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def split_listing(objects: Iterable[RemoteObject], *, remote_root: str,
                  own_ids: AbstractSet[str], manifest_ids: AbstractSet[str]
                  ) -> tuple[list[RemoteObject], list[RemoteObject]]:
    """(user objects, manifest objects) of a listing, each in listing order. A manifest is
    an object recorded as one; an upload at a manifest name that is not our upload of a user
    file (an upload of ours whose crash left it unrecorded is found by the name); or what
    sandbox code wrote at the manifest's own path. What the sandbox wrote at a server-chosen
    name (``<hex>-containersync-manifest.json``) is not: that is the rewrite of a user file
    of that name in a subfolder, which the live service stores flat."""
    files: list[RemoteObject] = []
    manifests: list[RemoteObject] = []
    exact = manifest_request_path(remote_root)
    for obj in objects:
        named = obj.file_id not in own_ids and is_manifest_path(obj.remote_path, remote_root)
        if obj.file_id in manifest_ids or (named and (obj.source == "user"
                                                      or obj.remote_path == exact)):
            manifests.append(obj)
        else:
            files.append(obj)
    return files, manifests


def reserved_problem() -> Problem:
    return Problem(MANIFEST_NAME, RESERVED_NAME,
                   f"{MANIFEST_NAME!r} is the name containersync keeps its manifest of "
                   "sandbox paths under; this file is not synced (rename it)")


#: ``instructions`` lists at most this many files by name; the manifest has them all
LISTED_FILES = 40


def instructions(paths: Mapping[str, str], *, remote_root: str, manifest: str | None,
                 folder: str) -> str:
    """A short text for a model's instructions: where the folder's files are in the
    sandbox, where the manifest is, and where to write files to have them come back."""
    root = remote_root.rstrip("/") or "/"
    lines = [f"The user's folder {folder!r} is mirrored into this sandbox under {root}."]
    if manifest is not None:
        lines += [
            "Its files do not keep their folder paths here: the sandbox chose a flat name "
            "for each upload.",
            f"{manifest} is a JSON file whose \"files\" object maps each file's path in the "
            "folder to its path in the sandbox; read it to find a file.",
        ]
        shown = sorted(paths.items())[:LISTED_FILES]
        if shown:
            lines.append("Files (folder path: sandbox path):")
            lines += [f"- {rel}: {sandbox}" for rel, sandbox in shown]
        if len(paths) > len(shown):
            lines.append(f"- ... and {len(paths) - len(shown)} more (see the manifest).")
    else:
        example = next(iter(sorted(paths)), "data/example.csv")
        lines.append(f"Each file keeps its folder path: {example} is at "
                     f"{local_to_remote(example, remote_root)}.")
    lines.append(f"Files you write under {root} (for example {root}/out/result.csv) are "
                 "copied back to the user's folder at the same relative path "
                 "(out/result.csv).")
    return "\n".join(lines) + "\n"
