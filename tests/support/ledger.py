"""What must be true of a mapping after a clean sync, whatever happened before it.

Shared by the model-based test and the daemon soak. Every write (local or assistant) gets
a unique *token* as the first line of its content, so a file can be traced wherever it
ends up. The ``Ledger`` keeps:

- ``live``: token -> local path. A write stays live until a later write or delete was made
  on a side that already held it (the user overwrote what was in the folder; the assistant
  overwrote or deleted what was in the sandbox at that path). A live token must be found
  after a clean sync at its path or in a conflict copy.
- ``gone``: (path, token) pairs deleted knowingly: that content must never come back at
  that path, locally or in the container (resurrection).
- ``stale``: (path, token) pairs the folder has moved past (seen there by ``observe``,
  then replaced or removed): that content must never again be what the folder holds at
  that path (a rollback to an older version). A version kept in place by a conflict is
  not moved past, so a same-second race resolved as a conflict is never a rollback.

``violations`` checks a converged state against the ledger and against the two sides:
every ``source: "user"`` object is one the index records as ours, at most one per local
path; for every local path, the newest object standing for it holds the local content;
no object stands for a path the folder lacks. It returns readable lines, empty when all
hold. Empty files carry no token and are checked only by the agreement rules.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from containersync.localapi.errors import NotFound
from containersync.localapi.store import Store
from containersync.model.manifest import is_manifest_path
from containersync.model.paths import is_conflict_copy

REMOTE_PREFIX = "/mnt/data/"
LARGE = 300_000  # more than one 256 KiB chunk of the backend's streaming


def token_of(data: bytes) -> str | None:
    """The token on the first line of ``data`` (None for an empty or foreign file)."""
    first = data.split(b"\n", 1)[0]
    return first.decode() if first.startswith(b"@") else None


def body(token: str, kind: str) -> bytes:
    """Content for one write: ``empty``, ``small`` or ``large``."""
    if kind == "empty":
        return b""
    head = f"{token}\n".encode()
    return head + (b"x" * LARGE if kind == "large" else b"")


def local_tokens(root: Path) -> dict[str, str | None]:
    """Relative path -> token of every regular file below ``root``."""
    out: dict[str, str | None] = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                with open(path, "rb") as f:
                    out[path.relative_to(root).as_posix()] = token_of(f.read(200))
    return out


@dataclass
class RemoteObject:
    id: str
    path: str
    source: str
    token: str | None
    rel: str  # the local path it stands for ("?" + path when it stands for none)


def remote_objects(store: Store, cid: str, own: Mapping[str, str],
                   anchors: dict[str, str]) -> list[RemoteObject]:
    """The container's objects in insertion order, each with the local path it stands for:
    ours by file id; others at the sandbox path of one of ours (ever) by that; the rest
    by stripping the remote root. ``anchors`` is updated with our objects' paths."""
    rows = store.list_container_files(cid)
    anchors.update({r["path"]: own[r["id"]] for r in rows if r["id"] in own})
    out = []
    for r in rows:
        if r["id"] not in own and is_manifest_path(r["path"], REMOTE_PREFIX):
            continue  # the container manifest (model.manifest): not a user file
        try:
            handle, _, _ = store.open_container_file(cid, r["id"])
        except NotFound:  # deleted since the listing (a daemon running meanwhile)
            continue
        with handle:
            token = token_of(handle.read(200))
        if r["id"] in own:
            rel = own[r["id"]]
        elif r["source"] == "user":
            rel = "?unrecorded upload " + r["path"]
        elif r["path"] in anchors:
            rel = anchors[r["path"]]
        elif r["path"].startswith(REMOTE_PREFIX):
            rel = r["path"][len(REMOTE_PREFIX):]
        else:
            rel = "?outside " + r["path"]
        out.append(RemoteObject(r["id"], r["path"], r["source"], token, rel))
    return out


@dataclass
class Ledger:
    live: dict[str, str] = field(default_factory=dict)
    gone: set[tuple[str, str]] = field(default_factory=set)
    stale: set[tuple[str, str]] = field(default_factory=set)
    observed: dict[str, set[str]] = field(default_factory=dict)
    count: int = 0

    def new_token(self, side: str, rel: str) -> str:
        self.count += 1
        return f"@{self.count}-{side}-{rel}"

    def placed(self, rel: str, token: str | None) -> None:
        if token is not None:
            self.live[token] = rel
            self.gone.discard((rel, token))
            self.stale.discard((rel, token))

    def superseded(self, rel: str, tokens: Iterable[str | None]) -> None:
        for token in tokens:
            if token is not None:
                self.live.pop(token, None)

    def observe(self, local: Mapping[str, str | None]) -> None:
        """Record what the folder holds now; what it held before at a path and no longer
        holds there becomes stale."""
        for rel in set(self.observed) | set(local):
            if is_conflict_copy(rel):
                continue
            now = local.get(rel)
            self.stale |= {(rel, t) for t in self.observed.get(rel, ()) if t != now}
            self.observed[rel] = {now} if now is not None else set()

    def deleted(self, rel: str, tokens: Iterable[str | None]) -> None:
        for token in tokens:
            if token is not None:
                self.live.pop(token, None)
                self.gone.add((rel, token))

    def moved(self, src: str, dst: str, token: str | None) -> None:
        if token is None:
            return
        if self.live.get(token) == src:
            self.live[token] = dst
        self.gone.add((src, token))
        self.gone.discard((dst, token))
        self.stale.discard((dst, token))

    def violations(self, local: Mapping[str, str | None],
                   objects: list[RemoteObject]) -> list[str]:
        out: list[str] = []
        names = {p: t for p, t in local.items() if not is_conflict_copy(p)}
        copies = {t for p, t in local.items() if is_conflict_copy(p)}
        by_rel: dict[str, list[RemoteObject]] = {}
        for o in objects:
            by_rel.setdefault(o.rel, []).append(o)
        for rel, group in sorted(by_rel.items()):
            ours = [o for o in group if o.source == "user"]
            if rel.startswith("?"):
                out += [f"object {o.id} ({o.token}) stands for no local path: {rel}"
                        for o in group]
            elif len(ours) > 1:
                out.append(f"{rel}: {len(ours)} objects of ours: "
                           + ", ".join(f"{o.id} ({o.token})" for o in ours))
            if not rel.startswith("?") and rel not in names:
                out.append(f"{rel}: absent locally but the container still holds "
                           + ", ".join(f"{o.source} {o.id} ({o.token})" for o in group))
        for rel, token in sorted(names.items()):
            group = by_rel.get(rel, [])
            if not group:
                out.append(f"{rel}: local ({token}) but no object stands for it")
            elif group[-1].token != token:
                out.append(f"{rel}: local holds {token}, the newest object "
                           f"{group[-1].source} {group[-1].id} holds {group[-1].token}")
        for token, rel in sorted(self.live.items()):
            if names.get(rel) != token and token not in copies:
                where = [p for p, t in local.items() if t == token]
                out.append(f"lost write {token}: not at {rel} nor in a conflict copy"
                           + (f" (found at {where})" if where else ""))
        for rel, token in sorted(self.gone):
            if names.get(rel) == token:
                out.append(f"{rel}: deleted content {token} came back locally")
            if any(o.token == token for o in by_rel.get(rel, [])):
                out.append(f"{rel}: deleted content {token} is still in the container")
        for rel, token in sorted(self.stale - self.gone):
            if names.get(rel) == token:
                out.append(f"{rel}: rolled back to overwritten content {token}")
        return out


def describe(objects: list[RemoteObject], local: Mapping[str, Any]) -> str:
    """Both sides, for a failure message."""
    lines = ["local:"] + [f"  {p}: {t}" for p, t in sorted(local.items())]
    lines += ["container (insertion order):"]
    lines += [f"  {o.id} {o.source:9} {o.path} -> {o.rel}: {o.token}" for o in objects]
    return "\n".join(lines)
