"""The baseline clients of the harness, each run as its own process (so its interpreter
start-up counts, as containersync's does): prints one JSON object on stdout.

    baselines.py push --base-url U --tree DIR --client sdk-seq
    baselines.py push --base-url U --tree DIR --client sdk-async --workers 32
    baselines.py push --base-url U --tree DIR --client httpx-threads --workers 32
    baselines.py pull --base-url U --container CID --dest DIR [--workers 8]
    baselines.py noop-floor --base-url U --container CID --tree DIR --state FILE --workers 4
    baselines.py upload --base-url U --container CID --file FILE

``push`` creates a container and uploads every file under DIR (one request each, the name
as filename, as a careful script would); ``pull`` lists a container's files (pages of 100,
one after another) and downloads every ``assistant`` file under DIR with ``--workers``
threads. ``work_seconds`` runs from the first client object to the last response.

``noop-floor`` is the least a sync client written in Python does for a no-op sync, with
nothing of a sync tool's care (no ignore rules, no safety rails, no name checks, no index
writes, no retries), to show how much of the gap to a compiled tool is the language's
rather than the engine's: it reads a state file (SQLite: each file's size and mtime, each
object's id in listing order; the first run, with no state file, only writes it), lists
every object (pages of 100, in ``--workers`` segments walked from cursors the state knows,
as containersync does), lstats every file under DIR, and counts what differs from the
state: both counts are 0 on a no-op. ``upload`` sends one file as ``multipart/form-data``
with httpx as its documentation shows, hashing it with SHA-256 as it is read (a sync client
must know what it sent).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

KEY = "sk-bench"
REMOTE_ROOT = "/mnt/data/"


def _files(tree: Path) -> list[tuple[str, bytes]]:
    """(upload filename, bytes): the relative path with '/' as '-' (a filename has no '/')."""
    return [(p.relative_to(tree).as_posix().replace("/", "-"), p.read_bytes())
            for p in sorted(tree.rglob("*")) if p.is_file()]


def push_sdk_sequential(base_url: str, files: list[tuple[str, bytes]]) -> int:
    from openai import OpenAI

    client = OpenAI(api_key=KEY, base_url=base_url, max_retries=0)
    cid = client.containers.create(name="baseline-sdk-seq").id
    for name, data in files:
        client.containers.files.create(cid, file=(name, data))
    return 0


def push_sdk_async(base_url: str, files: list[tuple[str, bytes]], workers: int) -> int:
    from openai import AsyncOpenAI

    async def go() -> int:
        client = AsyncOpenAI(api_key=KEY, base_url=base_url, max_retries=0)
        cid = (await client.containers.create(name="baseline-sdk-async")).id
        gate = asyncio.Semaphore(workers)

        async def one(name: str, data: bytes) -> None:
            async with gate:
                await client.containers.files.create(cid, file=(name, data))

        await asyncio.gather(*(one(n, d) for n, d in files))
        await client.close()
        return 0

    return asyncio.run(go())


def push_httpx_threads(base_url: str, files: list[tuple[str, bytes]], workers: int) -> int:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as setup:
        cid = setup.post("/containers", json={"name": "baseline-httpx"}).json()["id"]
    local = threading.local()
    failures = [0]

    def one(item: tuple[str, bytes]) -> None:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=base_url, headers=headers, timeout=60)
        reply = local.http.post(f"/containers/{cid}/files", files={"file": item})
        if reply.status_code != 200:
            failures[0] += 1

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, files))
    return failures[0]


def _walk_listing(http: httpx.Client, cid: str, after: str | None = None,
                  until: str | None = None, *, order: str | None = "asc"
                  ) -> tuple[list[dict[str, Any]], int]:
    """Each object after ``after`` up to ``until`` (included; None: to the end of the
    listing), pages of 100 in ``order`` (None: the server's default), and the pages read."""
    out: list[dict[str, Any]] = []
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 100, **({"order": order} if order else {}),
                                  **({"after": after} if after else {})}
        page = http.get(f"/containers/{cid}/files", params=params).json()
        pages += 1
        for item in page["data"]:
            out.append(item)
            if item["id"] == until:
                return out, pages
        if not page["has_more"] or not page["data"]:
            return out, pages
        after = page["data"][-1]["id"]


def pull(base_url: str, cid: str, dest: Path, workers: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
        items, pages = _walk_listing(http, cid, order=None)
    wanted = [i for i in items if i["source"] == "assistant" and i["path"].startswith(REMOTE_ROOT)]
    local = threading.local()

    def one(item: dict[str, Any]) -> None:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=base_url, headers=headers, timeout=60)
        target = dest / item["path"][len(REMOTE_ROOT):]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(local.http.get(f"/containers/{cid}/files/{item['id']}/content").content)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, wanted))
    return {"listed": len(items), "pages": pages, "downloaded": len(wanted)}


def _lstat_tree(tree: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime_ns) of every regular file under ``tree``."""
    files: dict[str, tuple[int, int]] = {}
    stack = [(str(tree), "")]
    while stack:
        folder, rel = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, f"{rel}{entry.name}/"))
                elif entry.is_file(follow_symlinks=False):
                    st = entry.stat(follow_symlinks=False)
                    files[rel + entry.name] = (st.st_size, st.st_mtime_ns)
    return files


def noop_floor(base_url: str, cid: str, tree: Path, state: Path, workers: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {KEY}"}
    first = not state.exists()
    db = sqlite3.connect(state)
    if first:
        db.execute("CREATE TABLE files (path TEXT PRIMARY KEY, size INT, mtime_ns INT)")
        db.execute("CREATE TABLE objects (position INTEGER PRIMARY KEY, id TEXT, path TEXT)")
    known_files = {path: (size, mtime) for path, size, mtime
                   in db.execute("SELECT path, size, mtime_ns FROM files")}
    known_ids = [fid for (fid,) in db.execute("SELECT id FROM objects ORDER BY position")]
    segments = 2 * workers if len(known_ids) >= 2 * workers * 100 else 1
    cursors: list[str | None] = [None, *(known_ids[len(known_ids) * j // segments]
                                         for j in range(1, segments))]
    local = threading.local()

    def segment(j: int) -> tuple[list[dict[str, Any]], int]:
        if not hasattr(local, "http"):
            local.http = httpx.Client(base_url=base_url, headers=headers, timeout=60)
        return _walk_listing(local.http, cid, cursors[j],
                             cursors[j + 1] if j + 1 < len(cursors) else None)

    with ThreadPoolExecutor(workers) as pool:
        walks = list(pool.map(segment, range(len(cursors))))
    listed = [(item["id"], item["path"]) for items, _ in walks for item in items]
    files = _lstat_tree(tree)
    if first:
        with db:
            db.executemany("INSERT INTO files VALUES (?, ?, ?)",
                           ((p, s, m) for p, (s, m) in files.items()))
            db.executemany("INSERT INTO objects (id, path) VALUES (?, ?)", listed)
    ids = set(known_ids)
    listed_ids = {fid for fid, _ in listed}
    local_changes = sum(1 for p, st in files.items() if known_files.get(p) != st) + sum(
        1 for p in known_files if p not in files)
    remote_changes = len(listed_ids - ids) + len(ids - listed_ids)
    return {"state_written": first, "listed": len(listed), "files": len(files),
            "pages": sum(pages for _, pages in walks), "local_changes": local_changes,
            "remote_changes": remote_changes}


class _Hashing(io.BufferedReader):
    """The file as httpx reads it, each piece hashed as it goes."""

    def __init__(self, raw: io.RawIOBase) -> None:
        super().__init__(raw, buffer_size=1 << 20)
        self.sha256 = hashlib.sha256()

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.sha256.update(data)
        return data


def upload(base_url: str, cid: str, path: Path) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=600) as http, \
            open(path, "rb", buffering=0) as raw:
        body = _Hashing(raw)
        reply = http.post(f"/containers/{cid}/files", files={"file": (path.name, body)})
    return {"status": reply.status_code, "bytes": reply.json().get("bytes"),
            "sha256": body.sha256.hexdigest()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("what", choices=["push", "pull", "noop-floor", "upload"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--tree", type=Path)
    parser.add_argument("--client", choices=["sdk-seq", "sdk-async", "httpx-threads"])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--container")
    parser.add_argument("--dest", type=Path)
    parser.add_argument("--state", type=Path)
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    result: dict[str, Any]
    if args.what == "noop-floor":
        result = noop_floor(args.base_url, args.container, args.tree, args.state, args.workers)
    elif args.what == "upload":
        result = upload(args.base_url, args.container, args.file)
    elif args.what == "pull":
        result = pull(args.base_url, args.container, args.dest, args.workers)
    else:
        files = _files(args.tree)
        started = time.perf_counter()
        if args.client == "sdk-seq":
            failures = push_sdk_sequential(args.base_url, files)
        elif args.client == "sdk-async":
            failures = push_sdk_async(args.base_url, files, args.workers)
        else:
            failures = push_httpx_threads(args.base_url, files, args.workers)
        result = {"files": len(files), "failures": failures}
    result["work_seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
